import { existsSync } from "node:fs";
import type { Config, Server } from "../config/loader.ts";
import type { KeyPath } from "../config/problems.ts";
import { executableKey, executableOf, modelIsPath, runtimeFor } from "../runtimes/index.ts";
import { launchPlan } from "../runtimes/plan.ts";
import { describeHolder, isPortFree } from "../system/ports.ts";
import { which } from "../system/which.ts";

// The checks a start makes before it runs anything, shared with `rig doctor`: what doctor reports is
// what a start would refuse, in the same words.

export interface PreflightProblem {
  code: "model-missing" | "executable-missing" | "port-taken";
  /** What is wrong, as doctor lists it after `path`. */
  message: string;
  /** The same problem told without a list around it, as a failed start reports it. */
  standalone: string;
  /** The dotted config key the message is about, when it is about one. */
  path?: string;
  /** The rig.yaml entry to point at, when the value at fault is written there. */
  entry?: KeyPath;
}

/** "`x` not found on PATH; install it or set KEY": the words for any executable rig cannot find. */
export function notFoundMessage(what: string, executable: string, key: string, hint?: string): string {
  const where = executable.includes("/") ? "" : " on PATH";
  return `${what}: \`${executable}\` not found${where}; install it or set ${key}${hint ? `; ${hint}` : ""}`;
}

/** A model named by a path that is not there. */
export function missingModel(config: Config, server: Server): PreflightProblem | undefined {
  if (!modelIsPath(runtimeFor(server.runtime), server.modelPath) || existsSync(server.modelPath)) return;
  const entry = ["servers", server.name, "model"];
  const where = config.where(entry);
  return {
    code: "model-missing",
    message: `model not found: ${server.modelPath}`,
    standalone: `model not found: ${server.modelPath} (${entry.join(".")} at ${where.file}:${where.line}:${where.col})`,
    path: entry.join("."),
    entry,
  };
}

/** The program the profile runs, when this machine does not have it. */
export function missingExecutable(config: Config, server: Server): PreflightProblem | undefined {
  const adapter = runtimeFor(server.runtime);
  const command = launchPlan(config, server).input.command;
  const executable = executableOf(adapter, command);
  if (!executable || which(executable)) return;
  const key = executableKey(adapter, server.name);
  const message = notFoundMessage(
    `runtime ${server.runtime}`,
    executable,
    key.join("."),
    adapter.install?.hint,
  );
  return { code: "executable-missing", message, standalone: message, entry: command ? key : undefined };
}

/** The profile's port, when something else already listens on it. */
export async function takenPort(server: Server, port: number): Promise<PreflightProblem | undefined> {
  if (await isPortFree(server.host ?? "127.0.0.1", port)) return;
  const holder = describeHolder(port);
  const fixed = server.port === port;
  return {
    code: "port-taken",
    message: `port ${port} is already taken by ${holder}`,
    standalone: `port ${port} of server ${server.name} is already taken by ${holder}`,
    path: fixed ? `servers.${server.name}.port` : undefined,
    entry: fixed ? ["servers", server.name, "port"] : undefined,
  };
}
