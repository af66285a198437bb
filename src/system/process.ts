import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

/**
 * Where the process table is read (Linux). Every function here takes it as a last argument so that
 * tests can take the path of a system without /proc (macOS) on Linux.
 */
export const PROC = "/proc";

function statFields(pid: number, proc: string): string[] | undefined {
  try {
    const stat = readFileSync(`${proc}/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * Whether a process is alive. Reads /proc where it exists, because a re-parented orphan that died stays
 * a zombie when PID 1 does not reap, and kill(pid, 0) still succeeds on it.
 */
export function isAlive(pid: number, proc = PROC): boolean {
  const fields = statFields(pid, proc);
  if (fields) return fields[0] !== "Z" && fields[0] !== "X";
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * When a process started, so that a reused pid is never mistaken for ours: clock ticks since boot from
 * /proc, or where there is none (macOS) the start time `ps` prints, to the second, read in one locale
 * and time zone so that every daemon reads it alike. Undefined when it cannot be told: then nothing
 * may signal that pid on the strength of a record.
 */
export function processStartTime(pid: number, proc = PROC): string | undefined {
  const fields = statFields(pid, proc);
  if (fields) return fields[19];
  if (existsSync(`${proc}/self`)) return undefined;
  const ps = spawnSync("ps", ["-o", "lstart=", "-p", String(pid)], {
    encoding: "utf8",
    env: { ...process.env, LC_ALL: "C", TZ: "UTC" },
    stdio: ["ignore", "pipe", "ignore"],
  });
  return (ps.status === 0 && ps.stdout.trim()) || undefined;
}

/** Signals a whole process group (the child was spawned detached, so its pid is the group id). */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** Whether any live (non-zombie) member of a process group remains. */
export function groupAlive(pgid: number, proc = PROC): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  try {
    return readdirSync(proc).some((entry) => {
      if (!/^\d+$/.test(entry)) return false;
      const fields = statFields(Number(entry), proc);
      return fields !== undefined && fields[2] === String(pgid) && fields[0] !== "Z";
    });
  } catch {
    return true;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether `promise` settled within `ms`; no timer is left behind to keep the process up. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What a command prints to stdout (then stderr too, with `withStderr`: where `--version` goes for some
 * programs), or undefined when it is missing, fails or outlasts `timeoutMs`.
 */
export function outputOf(
  command: string,
  args: string[],
  timeoutMs: number,
  options: { withStderr?: boolean } = {},
): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, encoding: "utf8" }, (error, stdout, stderr) =>
      resolve(error ? undefined : options.withStderr ? `${stdout}\n${stderr}` : stdout),
    );
  });
}
