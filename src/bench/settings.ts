// What a `rig bench` command line asks for, checked before anything starts: the settings, the cells
// measured and the subjects. Pure: the CLI reads the config and the prompt file and reports the errors.

import { formatTokenCount, parseTokenCount } from "../config/duration.ts";
import type { Server } from "../config/loader.ts";
import type { BenchPrompt } from "./prompts.ts";
import type { BenchSettings } from "./report.ts";
import type { Subject } from "./run.ts";
import type { Cell } from "./summary.ts";
import { type VariantSpec, variantName, variantServers } from "./variants.ts";

/** A setting the command line got wrong, with what to type instead. */
export class SettingsError extends Error {}

function positiveList(text: string, option: string, parse: (word: string) => number | undefined): number[] {
  const values = text.split(",").map((word) => parse(word));
  if (!values.length || values.some((value) => value === undefined))
    throw new SettingsError(
      `--${option} takes a comma-separated list like ${option === "context" ? "4k,32k" : "1,4"}`,
    );
  return [...new Set(values as number[])];
}

const wholeNumber = (word: string) =>
  /^\s*\d+\s*$/.test(word) && Number(word) > 0 ? Number(word) : undefined;

export interface SettingsArgs {
  context: unknown;
  concurrency: unknown;
  tokens: unknown;
  rounds: unknown;
  vary: string | undefined;
}

/**
 * The settings every subject is measured with. Contexts must leave room for a prompt and fit every
 * server; `sized` is false when no request is sized to a context (a prompt file's requests as written).
 */
export function settingsOf(
  args: SettingsArgs,
  servers: readonly Server[],
  sized = true,
): Omit<BenchSettings, "subjects"> {
  const contexts = positiveList(String(args.context), "context", parseTokenCount);
  const maxTokens = wholeNumber(String(args.tokens));
  const rounds = wholeNumber(String(args.rounds));
  if (!maxTokens) throw new SettingsError("--tokens takes a whole number of tokens per answer");
  if (!rounds) throw new SettingsError("--rounds takes a whole number");
  for (const context of sized ? contexts : []) {
    if (context <= maxTokens + 64)
      throw new SettingsError(
        `--context ${formatTokenCount(context)} leaves no room for a prompt beside ${maxTokens} answer tokens`,
      );
    for (const server of servers)
      if (server.context && context > server.context)
        throw new SettingsError(
          `--context ${formatTokenCount(context)} is more than ${server.name} serves (context: ${server.context} in rig.yaml)`,
        );
  }
  return {
    contexts,
    concurrency: positiveList(String(args.concurrency), "concurrency", wholeNumber),
    rounds,
    max_tokens: maxTokens,
    vary: args.vary ?? null,
  };
}

/**
 * An option's value as typed: `--vary` takes runtime flags, and a value that starts like one of rig's
 * own (`--no-mmap | …`) must not be read as a flag by the parser.
 */
export function rawOption(rawArgs: readonly string[], name: string): string | undefined {
  const at = rawArgs.indexOf(`--${name}`);
  if (at !== -1) return rawArgs[at + 1] ?? "";
  return rawArgs.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/**
 * The cells of a run: each context at each concurrency, or with a prompt set, each prompt at each
 * concurrency (the long prefill once per context).
 */
export function cellsOf(settings: Omit<BenchSettings, "subjects">, prompts?: readonly BenchPrompt[]): Cell[] {
  const shapes = prompts
    ? prompts.flatMap((prompt) =>
        prompt.fillsContext
          ? settings.contexts.map((context) => ({ context, prompt: prompt.name }))
          : [{ context: 0, prompt: prompt.name }],
      )
    : settings.contexts.map((context) => ({ context }));
  return shapes.flatMap((shape) => settings.concurrency.map((concurrency) => ({ ...shape, concurrency })));
}

/** What is measured, each with the profile it runs as: a `--vary` run's variants, or the servers named. */
export function subjectsOf(
  servers: readonly Server[],
  specs: readonly VariantSpec[],
): Array<{ subject: Subject; profile: Server }> {
  if (specs.length) {
    const base = servers[0]!;
    const profiles = variantServers(base, specs);
    return specs.map((spec, index) => ({
      subject: { name: variantName(base.name, spec.label), vary: spec.args },
      profile: profiles[index]!,
    }));
  }
  return servers.map((server) => ({ subject: { name: server.name }, profile: server }));
}
