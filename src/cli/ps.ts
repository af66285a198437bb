import { defineCommand } from "citty";
import { formatDuration, formatSize } from "../config/duration.ts";
import { type ServerStatus, stoppedStatus } from "../supervisor/status.ts";
import { workerJson, workerStatuses, workerTable } from "./across-hosts.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, printJson } from "./common.ts";
import { configOrRunningDaemon, daemonStatus, freshPeers } from "./daemon-client.ts";
import { peerJson, peerTable } from "./peers.ts";
import { table } from "./table.ts";

const STATE_COLOUR = {
  ready: pc.green,
  starting: pc.yellow,
  stopping: pc.yellow,
  failed: pc.red,
  stopped: pc.dim,
} as const;

/** What `rig ps --json` shows of each server, in this order. */
const JSON_FIELDS = [
  "name",
  "state",
  // Running with a profile rig.yaml has changed since: it restarts on its next use.
  "stale",
  "pid",
  "port",
  "uptime_s",
  "ttl_left_s",
  "runtime",
  "requests",
  "in_flight",
  "error",
  "last_exit",
  "memory_bytes",
  "memory_estimate_bytes",
] as const satisfies readonly (keyof ServerStatus)[];

/** What it was measured using, or what rig counts it as until then. */
function memoryCell(server: ServerStatus): string {
  if (server.memory_bytes !== null) return formatSize(server.memory_bytes);
  return server.memory_estimate_bytes === null ? "" : pc.dim(`~${formatSize(server.memory_estimate_bytes)}`);
}

export default defineCommand({
  meta: {
    name: "ps",
    description:
      "running servers: pid, port, uptime, state, ttl left, requests; peers: reachable, round trip; workers: reachable",
  },
  args: {
    ...homeArg,
    ...jsonArg,
    all: { type: "boolean", description: "include stopped servers", default: false },
  },
  async run({ args }) {
    const view = await configOrRunningDaemon(args.home);
    const { config } = view;
    const target = config ?? view.target;
    const status = config ? await daemonStatus(config) : view.status;
    // Without a daemon nothing runs: --all still lists every profile, as stopped.
    const known = status?.servers ?? Object.values(config?.servers ?? {}).map(stoppedStatus);
    const servers = known.filter((server) => args.all || server.state !== "stopped");
    // Peers are listed afresh: a peer's reachability is worth showing only as of now. Without rig.yaml
    // the daemon's own list says whether it has any.
    const hasPeers = config ? Object.keys(config.peers).length > 0 : Boolean(status?.peers?.length);
    const peers = status && hasPeers ? await freshPeers(target) : [];
    // Workers are rpc-server hosts: whether one answers matters whether or not the gateway runs. Only
    // rig.yaml names them.
    const workers = config && Object.keys(config.workers).length ? await workerStatuses(config) : [];
    if (args.json) {
      return printJson([
        ...servers.map((server) =>
          Object.fromEntries(JSON_FIELDS.map((field) => [field, server[field] ?? null])),
        ),
        ...peers.map(peerJson),
        ...workers.map(workerJson),
      ]);
    }
    if (workers.length) process.stdout.write(workerTable(workers));
    if (!status)
      return void process.stdout.write(
        "the gateway is not running: nothing is served (`rig serve <server>` starts one)\n",
      );
    if (peers.length) process.stdout.write(peerTable(peers));
    if (servers.length === 0) return void process.stdout.write("no server is running\n");
    const rows = servers.map((server) => [
      pc.bold(server.name),
      STATE_COLOUR[server.state](server.state) + (server.stale ? pc.yellow(" (stale)") : ""),
      server.pid,
      server.port,
      server.uptime_s === null ? "" : formatDuration(server.uptime_s * 1000),
      server.ttl_left_s === null ? "" : formatDuration(server.ttl_left_s * 1000),
      `${server.requests}${server.in_flight ? ` (${server.in_flight} now)` : ""}`,
      memoryCell(server),
      server.runtime,
    ]);
    process.stdout.write(
      `${table(["server", "state", "pid", "port", "uptime", "ttl left", "requests", "memory", "runtime"], rows)}\n`,
    );
    for (const server of servers.filter((candidate) => candidate.error))
      process.stdout.write(`${pc.red(server.name)}: ${server.error}\n`);
  },
});
