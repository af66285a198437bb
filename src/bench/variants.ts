import { createHash } from "node:crypto";
import type { Config, Server } from "../config/loader.ts";

/** One flag variant of a profile: `a`, `b`, … and the args that replace or join the profile's. */
export interface VariantSpec {
  label: string;
  args: string[];
}

/**
 * The words of `--vary "ARGS A | ARGS B"`, split as a POSIX shell splits them (quotes and backslashes
 * kept together), one list per `|`. An empty side is the profile as written.
 */
export function parseVary(text: string): VariantSpec[] | { error: string } {
  const sides: string[][] = [[]];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  const endWord = () => {
    if (word !== undefined) sides.at(-1)!.push(word);
    word = undefined;
  };
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === "\\" && quote === '"' && index + 1 < text.length) word = (word ?? "") + text[++index];
      else word = (word ?? "") + char;
    } else if (char === "'" || char === '"') {
      quote = char;
      word ??= "";
    } else if (char === "\\" && index + 1 < text.length) word = (word ?? "") + text[++index];
    else if (/\s/.test(char)) endWord();
    else if (char === "|") {
      endWord();
      sides.push([]);
    } else word = (word ?? "") + char;
  }
  if (quote) return { error: `--vary has an unclosed ${quote}` };
  endWord();
  if (sides.length < 2)
    return {
      error: '--vary needs at least two variants separated by "|", e.g. "--flash-attn on | --flash-attn off"',
    };
  const seen = new Set<string>();
  for (const side of sides) {
    const key = side.join("\0");
    if (seen.has(key)) return { error: `--vary names the same variant twice: "${side.join(" ")}"` };
    seen.add(key);
  }
  return sides.map((args, index) => ({ label: String.fromCharCode(97 + index), args }));
}

/** A flag, as opposed to a value (negative numbers are values). */
const isFlag = (word: string) => word.startsWith("-") && !/^-\.?\d/.test(word);
const flagName = (word: string) => word.split("=", 1)[0]!;

/**
 * The profile's args with a variant's applied: every flag the variant names (spelled the same way) is
 * taken out of the profile's args with its value, then the variant's words follow. So `--threads 8`
 * replaces `--threads 4` instead of leaving it to the runtime which of the two wins.
 */
export function variantArgs(profile: readonly string[], change: readonly string[]): string[] {
  const replaced = new Set(change.filter(isFlag).map(flagName));
  const kept: string[] = [];
  for (let index = 0; index < profile.length; index++) {
    const word = profile[index]!;
    if (!isFlag(word) || !replaced.has(flagName(word))) {
      kept.push(word);
      continue;
    }
    const next = profile[index + 1];
    if (!word.includes("=") && next !== undefined && !isFlag(next)) index++;
  }
  return [...kept, ...change];
}

/** A variant's server name: `~` cannot appear in a name rig.yaml defines, so it never shadows a profile. */
export function variantName(server: string, label: string): string {
  return `${server}~${label}`;
}

/** The group a varied profile and its variants share while a `--vary` run lasts. */
function benchGroup(server: Server): string {
  return server.group ?? `bench ${server.name}`;
}

/**
 * Each variant as a temporary profile: the base profile with the variant's args, its own name and
 * launch hash, and the base's group (or one made for the run), so that the variants, and the profile
 * they vary, never run at the same time: each is measured alone, with the memory to itself.
 */
export function variantServers(base: Server, specs: readonly VariantSpec[]): Server[] {
  return specs.map((spec) => ({
    ...base,
    name: variantName(base.name, spec.label),
    args: variantArgs(base.args, spec.args),
    aliases: [],
    group: benchGroup(base),
    notes: `rig bench --vary ${base.name}: ${spec.args.join(" ") || "the profile as written"}`,
    profileHash: createHash("sha256")
      .update(JSON.stringify([base.profileHash, spec.args]))
      .digest("hex")
      .slice(0, 16),
  }));
}

/** What the daemon accepts as a variant set: labels and args as `parseVary` makes them. */
export function variantSpecsOf(body: unknown): VariantSpec[] | { error: string } {
  const variants = (body as { variants?: unknown } | null)?.variants;
  if (!Array.isArray(variants)) return { error: "variants must be a list of {label, args}" };
  const specs: VariantSpec[] = [];
  for (const variant of variants) {
    const { label, args } = (variant ?? {}) as { label?: unknown; args?: unknown };
    if (typeof label !== "string" || !/^[a-z]{1,8}$/.test(label))
      return { error: "a variant's label is a few lowercase letters" };
    if (!Array.isArray(args) || !args.every((arg) => typeof arg === "string"))
      return { error: `variant ${label}: args must be a list of strings` };
    specs.push({ label, args });
  }
  return specs;
}

/**
 * The variant sets of the `--vary` runs in progress, laid over the config read from disk: the daemon
 * serves `applyTo(config)`, so variants route and start like any profile, and rig.yaml is never written.
 */
export class VariantProfiles {
  private readonly sets = new Map<string, VariantSpec[]>();

  /** Replaces the server's variant set (an empty one removes it); returns the variants' names. */
  set(server: string, specs: VariantSpec[]): string[] {
    if (specs.length) this.sets.set(server, specs);
    else this.sets.delete(server);
    return specs.map((spec) => variantName(server, spec.label));
  }

  applyTo(config: Config): Config {
    const servers = { ...config.servers };
    for (const [name, specs] of this.sets) {
      const base = config.servers[name];
      // A profile removed from rig.yaml takes its variants with it.
      if (!base) continue;
      servers[name] = { ...base, group: benchGroup(base) };
      for (const variant of variantServers(base, specs)) servers[variant.name] = variant;
    }
    return this.sets.size ? { ...config, servers } : config;
  }
}
