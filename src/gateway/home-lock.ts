import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { isAlive, processStartTime } from "../system/process.ts";

/** The daemon holding a home: its pid and start time (so a reused pid is never taken for it). */
export interface LockHolder {
  pid: number;
  start_time?: string;
}

const LOCK_FILE = "daemon.lock";

function readHolder(path: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
    return typeof holder.pid === "number" ? holder : undefined;
  } catch {
    return undefined;
  }
}

function holds(holder: LockHolder | undefined): holder is LockHolder {
  if (!holder || !isAlive(holder.pid)) return false;
  return holder.start_time === undefined || processStartTime(holder.pid) === holder.start_time;
}

function beingWritten(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < 2000;
  } catch {
    return false;
  }
}

function create(path: string): boolean {
  try {
    const fd = openSync(path, "wx", 0o600);
    writeSync(fd, JSON.stringify({ pid: process.pid, start_time: processStartTime(process.pid) }));
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/**
 * Whether a daemon holds this home, answering or not yet: a CLI that started a daemon which exited
 * because another one holds the home waits for that one.
 */
export function homeIsHeld(stateDir: string): boolean {
  const path = join(stateDir, LOCK_FILE);
  const holder = readHolder(path);
  return holds(holder) || (!holder && beingWritten(path));
}

/**
 * One daemon per home: the lock is a file created exclusively, naming its holder. A holder that
 * is gone (killed with -9) leaves a stale file, which the next daemon replaces.
 */
export function takeHomeLock(stateDir: string): { release(): void } | { holder: LockHolder } {
  const path = join(stateDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (create(path)) {
      return {
        release() {
          if (readHolder(path)?.pid === process.pid) unlinkSync(path);
        },
      };
    }
    const holder = readHolder(path);
    if (holds(holder)) return { holder };
    // A file with no holder yet may be one another daemon is writing this very moment.
    if (!holder && beingWritten(path)) return { holder: { pid: 0 } };
    try {
      unlinkSync(path);
    } catch {}
  }
  const holder = readHolder(path);
  return { holder: holder ?? { pid: 0 } };
}
