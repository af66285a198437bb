import pc from "picocolors";
import { type Config, loadConfig } from "../config/loader.ts";
import { ConfigError, formatProblem } from "../config/problems.ts";

/** A failure the user can act on: printed as one message, no stack. */
export class RigError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "RigError";
  }
}

export class UsageError extends RigError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}

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

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Loads the config; on problems prints each with file:line:col and exits 1. */
export function loadOrExit(home: string | undefined): Config {
  try {
    return loadConfig({ home });
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
