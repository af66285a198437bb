import { type Config, loadConfig } from "../config/loader.ts";
import { ConfigError, formatProblem } from "../config/problems.ts";
import { docsStale } from "../docs/stamp.ts";
import { pc } from "./colors.ts";

export { RigError, UsageError } from "./errors.ts";

export const homeArg = {
  home: {
    type: "string",
    description: "rig home folder (default: $RIG_HOME or ~/local-llm)",
    valueHint: "DIR",
  },
} as const;

export const jsonArg = {
  json: { type: "boolean", description: "print machine-readable JSON", default: false },
} as const;

/** The words after `--`: what a command passes on to the runtime or agent untouched. */
export function argsAfterSeparator(rawArgs: string[]): string[] {
  const separator = rawArgs.indexOf("--");
  return separator === -1 ? [] : rawArgs.slice(separator + 1);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Regenerates the docs after a config change; only what needs a person's attention is printed (stderr).
 * Docs are a by-product: a home rig cannot write into still runs its commands, so a failure is a warning.
 */
export async function refreshDocs(config: Config): Promise<void> {
  try {
    const { writeDocs } = await import("../docs/write.ts");
    const actions = await writeDocs(config);
    for (const action of actions.filter((candidate) => candidate.state === "skipped"))
      process.stderr.write(`${pc.yellow("docs:")} left ${action.path} alone: ${action.reason}\n`);
  } catch (error) {
    process.stderr.write(`${pc.yellow("docs:")} not regenerated: ${(error as Error).message}\n`);
  }
}

/** Prints rig.yaml's problems each with file:line:col, as errors (the command stops) or notes (it goes on). */
export function printProblems(error: ConfigError, as: "error" | "note" = "error"): void {
  const prefix = as === "note" ? `${pc.yellow("note:")} ` : "";
  for (const problem of error.problems) process.stderr.write(`${prefix}${formatProblem(problem)}\n`);
  if (as === "error") process.stderr.write(pc.dim("run `rig doctor` for a full check\n"));
}

/**
 * The config, or what is wrong with it: for a command that can go on without rig.yaml. A config whose
 * content changed since the docs were written regenerates them first (`docs: false` leaves that to the caller).
 */
export async function loadOrProblems(
  home: string | undefined,
  options: { positions?: boolean; docs?: boolean } = {},
): Promise<Config | ConfigError> {
  try {
    const config = await loadConfig({ home, positions: options.positions });
    if (options.docs !== false && docsStale(config)) await refreshDocs(config);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

/** Loads the config; on problems prints each with file:line:col and exits 1. */
export async function loadOrExit(
  home: string | undefined,
  options: { positions?: boolean; docs?: boolean } = {},
): Promise<Config> {
  const loaded = await loadOrProblems(home, options);
  if (!(loaded instanceof ConfigError)) return loaded;
  printProblems(loaded);
  process.exit(1);
}

export function section(title: string): string {
  return pc.bold(title);
}
