import { readdirSync, readFileSync } from "node:fs";

function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * Whether a process is alive. Reads /proc where it exists, because a re-parented orphan that died stays
 * a zombie when PID 1 does not reap, and kill(pid, 0) still succeeds on it.
 */
export function isAlive(pid: number): boolean {
  const fields = statFields(pid);
  if (fields) return fields[0] !== "Z" && fields[0] !== "X";
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The process start time in clock ticks since boot (Linux), so a reused pid is never mistaken for ours. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
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
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  try {
    return readdirSync("/proc").some((entry) => {
      if (!/^\d+$/.test(entry)) return false;
      const fields = statFields(Number(entry));
      return fields !== undefined && fields[2] === String(pgid) && fields[0] !== "Z";
    });
  } catch {
    return true;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
