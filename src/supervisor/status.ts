import type { Server } from "../config/loader.ts";

// What `rig ps` and /rig/v1/status report per server; kept apart from the supervisor so the CLI can
// describe servers without loading it.

export type ServerState = "stopped" | "starting" | "ready" | "stopping" | "failed";

export interface ServerStatus {
  name: string;
  runtime: string;
  state: ServerState;
  pid: number | null;
  port: number | null;
  uptime_s: number | null;
  ttl_left_s: number | null;
  requests: number;
  in_flight: number;
  error: string | null;
  /** The profile changed since this launch: it restarts on its next use. */
  stale: boolean;
}

/** A server with no launch behind it. */
export function stoppedStatus(server: Server): ServerStatus {
  return {
    name: server.name,
    runtime: server.runtime,
    state: "stopped",
    pid: null,
    port: null,
    uptime_s: null,
    ttl_left_s: null,
    requests: 0,
    in_flight: 0,
    error: null,
    stale: false,
  };
}
