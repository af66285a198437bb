import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive, processStartTime, signalGroup } from "../system/process.ts";

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
  const file = pidFile(stateDir);
  writeFileSync(`${file}.tmp`, JSON.stringify(records, null, 2));
  renameSync(`${file}.tmp`, file);
}

/** Records the servers running now (name → pid and port), replacing what was recorded. */
export function savePids(stateDir: string, running: Record<string, { pid: number; port?: number }>): void {
  const records = Object.fromEntries(
    Object.entries(running).map(([name, { pid, port }]) => [
      name,
      { pid, startTime: processStartTime(pid), port },
    ]),
  );
  writePids(stateDir, records);
}

/** Kills the server processes a previous daemon left behind (checked by pid and start time). */
export function reapLeftovers(stateDir: string): string[] {
  const reaped: string[] = [];
  for (const [name, record] of Object.entries(readPids(stateDir))) {
    if (!isAlive(record.pid)) continue;
    if (record.startTime && processStartTime(record.pid) !== record.startTime) continue;
    signalGroup(record.pid, "SIGKILL");
    reaped.push(`${name} (pid ${record.pid})`);
  }
  writePids(stateDir, {});
  return reaped;
}
