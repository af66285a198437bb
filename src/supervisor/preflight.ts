import { existsSync } from "node:fs";
import type { Config, Server, Worker } from "../config/loader.ts";
import type { KeyPath } from "../config/problems.ts";
import { executableKey, executableOf, modelIsPath, runtimeFor } from "../runtimes/index.ts";
import { launchPlan } from "../runtimes/plan.ts";
import { answers, describeHolder, isPortFree } from "../system/ports.ts";
import { notFoundMessage, which } from "../system/which.ts";

// The checks a start makes before it runs anything, shared with `rig doctor`: what doctor reports is
// what a start would refuse, in the same words.

export interface PreflightProblem {
  code: "model-missing" | "executable-missing" | "port-taken" | "worker-down";
  /** What is wrong, as doctor lists it after `path`. */
  message: string;
  /** The same problem told without a list around it, as a failed start reports it. */
  standalone: string;
  /** The dotted config key the message is about, when it is about one. */
  path?: string;
  /** The rig.yaml entry to point at, when the value at fault is written there. */
  entry?: KeyPath;
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
    (server.rpc.length || server.nodes.length) && adapter.install?.acrossHostsHint
      ? adapter.install.acrossHostsHint
      : adapter.install?.hint,
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

/** How long a worker has to accept a connection before it counts as down. */
const WORKER_ANSWER_MS = 2000;

/** The workers (`workers:`) a server's `rpc:` names, in its order. */
function workersOf(config: Config, server: Server): Worker[] {
  return server.rpc.flatMap((name) => config.workers[name] ?? []);
}

/** What to say about workers that do not answer, or undefined when every one does. */
export function workersDownProblem(down: readonly Worker[]): PreflightProblem | undefined {
  const [first] = down;
  if (!first) return;
  const named = down.map((worker) => `${worker.name} (${worker.host}:${worker.port})`);
  const message =
    down.length === 1
      ? `worker ${named[0]} does not answer: start it with \`rig worker run\` on that host`
      : `workers ${named.join(", ")} do not answer: start them with \`rig worker run\` on their hosts`;
  return { code: "worker-down", message, standalone: message, entry: ["workers", first.name] };
}

/** The rpc workers a llama.cpp server is split across that do not accept a connection now. */
export async function downWorkers(config: Config, server: Server): Promise<PreflightProblem | undefined> {
  return workersDownProblem(await silentWorkers(workersOf(config, server)));
}

/** The workers that do not accept a connection now, asked all at once, each within the same bound. */
export async function silentWorkers(workers: readonly Worker[]): Promise<Worker[]> {
  const answered = await Promise.all(
    workers.map((worker) => answers(worker.host, worker.port, WORKER_ANSWER_MS)),
  );
  return workers.filter((_, index) => !answered[index]);
}
