import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFailures } from "../ledger/write-failures.ts";
import { writeFileAtomic } from "../system/atomic-write.ts";
import { isAlive, PROC, processStartTime, signalGroup } from "../system/process.ts";

// state/servers.json: the servers this daemon runs, by pid and start time, so that a daemon started
// after one that was killed can stop what it left behind, and never a process that reused a pid.

interface PidRecord {
  pid: number;
  startTime?: string;
  port?: number;
}

function pidFile(stateDir: string): string {
  return join(stateDir, "servers.json");
}

function readPids(stateDir: string): Record<string, PidRecord> {
  try {
    return JSON.parse(readFileSync(pidFile(stateDir), "utf8"));
  } catch {
    return {};
  }
}

function writePids(stateDir: string, records: Record<string, PidRecord>): void {
  if (!existsSync(stateDir)) return;
  // Called when a server starts or exits: a full disk costs the next daemon its cleanup, not this one its life.
  writeFailures.guard("pidfile", () => writeFileAtomic(pidFile(stateDir), JSON.stringify(records, null, 2)));
}

/** Records the servers running now (name → pid and port), replacing what was recorded. */
export function savePids(
  stateDir: string,
  running: Record<string, { pid: number; port?: number }>,
  proc = PROC,
): void {
  const records = Object.fromEntries(
    Object.entries(running).map(([name, { pid, port }]) => [
      name,
      { pid, startTime: processStartTime(pid, proc), port },
    ]),
  );
  writePids(stateDir, records);
}

/**
 * Kills the server processes a previous daemon left behind. Only a pid whose start time is recorded
 * and still matches is signalled: a pid that may have been reused by another program is left alone.
 */
export function reapLeftovers(stateDir: string, proc = PROC): string[] {
  const reaped: string[] = [];
  for (const [name, record] of Object.entries(readPids(stateDir))) {
    if (!isAlive(record.pid, proc)) continue;
    if (!record.startTime || processStartTime(record.pid, proc) !== record.startTime) continue;
    signalGroup(record.pid, "SIGKILL");
    reaped.push(`${name} (pid ${record.pid})`);
  }
  writePids(stateDir, {});
  return reaped;
}
