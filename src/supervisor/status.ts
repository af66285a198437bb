import type { Server } from "../config/loader.ts";

// What `rig ps` and /rig/v1/status report per server; kept apart from the supervisor so the CLI can
// describe servers without loading it.

export type ServerState = "stopped" | "starting" | "ready" | "stopping" | "failed";

/** Whether a server has a process behind it, so that stopping it stops something (a failed one has none). */
export function hasProcess(server: Pick<ServerStatus, "state">): boolean {
  return server.state === "starting" || server.state === "ready" || server.state === "stopping";
}

/** How a server's last process ended: `rig ps --json` shows it, a client cut off mid-stream is told it. */
export interface LastExit {
  code: number | null;
  signal: string | null;
  /** ISO time of the exit. */
  at: string;
  /** What it means and what to do: a signal's usual cause, a failure pattern of the log, or rig's reason to stop it. */
  hint: string | null;
}

/** "tiny exited (signal SIGILL): …": an exit in one line, as errors and `rig ps` tell it. */
export function describeExit(name: string, exit: LastExit, verb = "exited"): string {
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
  return `${name} ${verb} (${how})${exit.hint ? `: ${exit.hint}` : ""}`;
}

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
  last_exit: LastExit | null;
  /** What its running launch was last measured using (the runtime's report, or its processes' RSS). */
  memory_bytes: number | null;
  /** What rig counts it as before measuring: its `memory:`, its profile's last measurement, or the estimate. */
  memory_estimate_bytes: number | null;
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
    last_exit: null,
    memory_bytes: null,
    memory_estimate_bytes: null,
  };
}

/** What the scheduler decided about a server that has been asked for since the daemon started. */
export interface Scheduled {
  state: ServerState;
  stale: boolean;
  inFlight: number;
  requests: number;
  lastActive: number;
  error?: string;
}

/** The process side of its current or last launch. */
export interface LaunchFacts {
  pid?: number;
  port?: number;
  startedAt: number;
  /** How the last process of this server ended, this launch's or an earlier one's. */
  lastExit?: LastExit;
  /** What the launch was last measured using, in bytes. */
  memoryBytes?: number;
}

export function serverStatus(
  server: Server,
  scheduled: Scheduled | undefined,
  launch: LaunchFacts | undefined,
  now: number,
  estimateBytes?: number,
): ServerStatus {
  const estimate = estimateBytes ?? null;
  if (!scheduled)
    return { ...stoppedStatus(server), last_exit: launch?.lastExit ?? null, memory_estimate_bytes: estimate };
  const { state } = scheduled;
  const running = launch && (state === "ready" || state === "starting" || state === "stopping");
  const ttlLeft =
    state === "ready" && server.ttlMs && scheduled.inFlight === 0
      ? Math.max(0, Math.round((scheduled.lastActive + server.ttlMs - now) / 1000))
      : null;
  return {
    name: server.name,
    runtime: server.runtime,
    state,
    pid: running ? (launch.pid ?? null) : null,
    port: running ? (launch.port ?? null) : null,
    uptime_s: running ? Math.round((now - launch.startedAt) / 1000) : null,
    ttl_left_s: ttlLeft,
    requests: scheduled.requests,
    in_flight: scheduled.inFlight,
    error: state === "failed" ? (scheduled.error ?? null) : null,
    stale: scheduled.stale,
    last_exit: launch?.lastExit ?? null,
    memory_bytes: running ? (launch.memoryBytes ?? null) : null,
    memory_estimate_bytes: estimate,
  };
}
