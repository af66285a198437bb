import { join } from "node:path";

// What a running daemon tells of itself in `state/gateway.json`, apart from the daemon's own module:
// the CLI reads it on every command that looks for the daemon, and should not load the gateway to do it.

/** `state/gateway.json`: the running daemon's pid, address and version. */
export interface DaemonState {
  pid: number;
  start_time?: string;
  host: string;
  port: number;
  version: string;
  started_at: string;
}

export function daemonStateFile(state: string): string {
  return join(state, "gateway.json");
}
