import type { ArgsDef } from "citty";
import { nearest } from "../config/problems.ts";

/** Commands that read every positional word they are given (`rig bench a b c`), not a fixed number. */
const TAKES_MORE_WORDS = new Set(["bench"]);

const camel = (name: string) => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

interface Option {
  /** Whether the word after it is its value (`--home DIR`). */
  takesValue: boolean;
  /** How help spells it, for suggestions. */
  spelled: string;
}

/** Every spelling citty accepts for the command's options: name, camel and kebab case, aliases, `no-` for booleans. */
function optionsOf(defs: ArgsDef): Map<string, Option> {
  const options = new Map<string, Option>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    const option = { takesValue: def.type === "string" || def.type === "enum", spelled: `--${name}` };
    const aliases = "alias" in def && def.alias !== undefined ? [def.alias].flat() : [];
    for (const spelling of [name, camel(name), kebab(name), ...aliases]) options.set(spelling, option);
    if (def.type === "boolean") options.set(`no-${name}`, { takesValue: false, spelled: `--no-${name}` });
  }
  return options;
}

/**
 * The first word a command would silently ignore: an option it does not have (a typed `--hom` would
 * otherwise act on the default home) or a word beyond its positional arguments. `words` are the
 * command's own: after its command words, before any `--`. Undefined when every word is taken.
 */
export function strayArgument(command: string, defs: ArgsDef, words: string[]): string | undefined {
  const options = optionsOf(defs);
  let positionals = Object.values(defs).filter((def) => def.type === "positional").length;
  if (TAKES_MORE_WORDS.has(command)) positionals = Number.POSITIVE_INFINITY;
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    if (word.length > 1 && word.startsWith("-") && !/^-\d/.test(word)) {
      const [name = "", value] = word.replace(/^--?/, "").split(/=(.*)/s);
      const option = options.get(name);
      if (!option) {
        const meant = nearest(
          `--${name}`,
          [...options.values()].map((known) => known.spelled),
        );
        return `unknown option \`${word.split("=")[0]}\`${meant ? `; did you mean \`${meant}\`?` : ""}`;
      }
      if (option.takesValue && value === undefined) index++;
      continue;
    }
    if (positionals-- <= 0) return `unexpected argument \`${word}\``;
  }
  return undefined;
}
