import { type ChildProcess, spawn } from "node:child_process";
import { hideSecrets, type Secret } from "../config/secrets.ts";
import type { ProcessSpec } from "../runtimes/types.ts";
import { groupAlive, settlesWithin, signalGroup } from "../system/process.ts";
import { shellLine } from "../system/shell.ts";
import { which } from "../system/which.ts";
import type { LogSink } from "./log.ts";
import { RedactedOutput } from "./redacted-output.ts";

const STOP_GRACE_MS = 10_000;
const SETPRIV = process.platform === "linux" ? which("setpriv") : undefined;

/** A server process rig spawned, in its own process group. */
export interface ServerProcess {
  readonly pid: number | undefined;
  /** Resolves once the process has exited and its output is written. */
  readonly closed: Promise<void>;
  readonly running: boolean;
}

/** Sends a child's stdout and stderr to `log`, with `secrets` shown by name. */
function logOutput(child: ChildProcess, log: LogSink | undefined, secrets: readonly Secret[]): void {
  for (const stream of [child.stdout!, child.stderr!]) {
    if (!secrets.length) {
      stream.on("data", (chunk: Buffer) => log?.write(chunk));
      continue;
    }
    const output = new RedactedOutput(secrets, (text) => log?.write(text));
    stream.on("data", (chunk: Buffer) => output.push(chunk));
    stream.on("end", () => output.end());
  }
}

/** Spawns a server with its output going to `log`; `onExit` runs once, when it has exited. */
export function spawnServer(
  spec: ProcessSpec,
  options: {
    cwd: string;
    log: LogSink;
    /** Shown by name in what the server prints. */
    secrets: readonly Secret[];
    onExit(code: number | null, signal: NodeJS.Signals | null): void;
  },
): ServerProcess {
  // The server dies with the daemon. KILL, not TERM: when the daemon is gone nobody can wait out a
  // graceful stop or escalate one that hangs (a llama-server once outlived its killed daemon on
  // TERM). Without setpriv, and for a runtime's own child processes, the next daemon reaps what is
  // left from the pid file.
  const argv = SETPRIV ? [SETPRIV, "--pdeathsig", "KILL", "--", ...spec.argv] : spec.argv;
  const child = spawn(argv[0]!, argv.slice(1), {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...spec.env },
    cwd: options.cwd,
  });
  const { log } = options;
  logOutput(child, log, options.secrets);
  child.once("error", (error) => log.write(`--- rig: could not start: ${error.message}\n`));
  let running = true;
  const closed = new Promise<void>((resolve) =>
    child.once("close", (code, signal) => {
      running = false;
      options.onExit(code, signal);
      resolve();
    }),
  );
  return {
    pid: child.pid,
    closed,
    get running() {
      return running;
    },
  };
}

/** SIGTERM to the group, then SIGKILL after the grace period or when a member outlives the leader. */
export async function terminate(server: ServerProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (!server.pid || !server.running) return;
  signalGroup(server.pid, "SIGTERM");
  const graceful = await settlesWithin(server.closed, graceMs);
  if (!graceful || groupAlive(server.pid)) {
    signalGroup(server.pid, "SIGKILL");
    await server.closed;
  }
}

/** SIGKILL to the group, waiting (a bounded time) for the exit to be seen. */
export async function kill(server: ServerProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (!server.pid || !server.running) return;
  signalGroup(server.pid, "SIGKILL");
  await settlesWithin(server.closed, graceMs);
}

/** Runs a helper command (a runtime's lifecycle step) to completion, its output into `log`. */
export function runToCompletion(
  argv: string[],
  log: LogSink | undefined,
  secrets: readonly Secret[],
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    logOutput(child, log, secrets);
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${hideSecrets(secrets, shellLine(argv))} exited with ${code}`)),
    );
  });
}
