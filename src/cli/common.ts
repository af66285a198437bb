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
 * Loads the config; on problems prints each with file:line:col and exits 1. A config whose content
 * changed since the docs were written regenerates them first (`docs: false` leaves that to the caller).
 */
export async function loadOrExit(
  home: string | undefined,
  options: { positions?: boolean; docs?: boolean } = {},
): Promise<Config> {
  try {
    const config = await loadConfig({ home, positions: options.positions });
    if (options.docs !== false && docsStale(config)) {
      // Docs are a by-product: a home rig cannot write into still runs its commands.
      await (await import("./docs.ts")).refreshDocs(config).catch((error: Error) => {
        process.stderr.write(`${pc.yellow("docs:")} not regenerated: ${error.message}\n`);
      });
    }
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`${formatProblem(problem)}\n`);
      process.stderr.write(pc.dim("run `rig doctor` for a full check\n"));
      process.exit(1);
    }
    throw error;
  }
}

export function section(title: string): string {
  return pc.bold(title);
}
