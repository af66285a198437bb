import type { Config, Server } from "../config/loader.ts";
import { launchPlan } from "../runtimes/plan.ts";
import type { NodeCommands } from "../runtimes/types.ts";
import { silentWorkers } from "../supervisor/preflight.ts";
import { shellLine } from "../system/shell.ts";
import { pc } from "./colors.ts";
import { table } from "./table.ts";

// One model across hosts as `rig ps` and `rig explain` show it: llama.cpp's rpc-server workers with
// whether they answer now, and what a multi-node server runs on each node.

export interface WorkerStatus {
  name: string;
  state: "reachable" | "unreachable";
  host: string;
  port: number;
  /** The servers whose `rpc:` names it. */
  servers: string[];
}

/** Every worker in rig.yaml with whether it answered (pure: `answered` holds the names that did). */
export function workerRows(config: Config, answered: ReadonlySet<string>): WorkerStatus[] {
  return Object.values(config.workers).map((worker) => ({
    name: worker.name,
    state: answered.has(worker.name) ? "reachable" : "unreachable",
    host: worker.host,
    port: worker.port,
    servers: Object.values(config.servers)
      .filter((server) => server.rpc.includes(worker.name))
      .map((server) => server.name),
  }));
}

/** Asks every worker at once whether it accepts a connection now (each within the preflight's bound). */
export async function workerStatuses(config: Config): Promise<WorkerStatus[]> {
  const workers = Object.values(config.workers);
  const silent = new Set(await silentWorkers(workers));
  return workerRows(
    config,
    new Set(workers.filter((worker) => !silent.has(worker)).map((worker) => worker.name)),
  );
}

/** `rig ps --json` rows for workers, after the servers' and peers': nothing of theirs runs here. */
export function workerJson(worker: WorkerStatus) {
  return { ...worker, runtime: "rpc-server" };
}

export function workerTable(workers: WorkerStatus[]): string {
  const rows = workers.map((worker) => [
    pc.bold(worker.name),
    worker.state === "reachable" ? pc.green(worker.state) : pc.red(worker.state),
    `${worker.host}:${worker.port}`,
    worker.servers.join(", ") || pc.dim("none"),
  ]);
  const down = workers.some((worker) => worker.state === "unreachable" && worker.servers.length);
  return `${table(["worker", "state", "address", "used by"], rows)}\n${
    down ? pc.dim("start a worker with `rig worker run` on its host\n") : ""
  }`;
}

/** What a server spans beyond this host: its rpc workers, or the commands each node of a multi-node plan runs. */
export function acrossHosts(config: Config, server: Server) {
  const plan = launchPlan(config, server);
  const workers = server.rpc.map((name, index) => ({ name, endpoint: plan.input.rpc?.[index] ?? name }));
  const nodes: NodeCommands[] = plan.adapter.nodeCommands?.(plan.input) ?? [];
  return workers.length || nodes.length ? { workers, nodes } : null;
}

/** `rig explain` lines for `acrossHosts`, to follow the server's own. */
export function acrossHostsLines(facts: ReturnType<typeof acrossHosts>): string[] {
  if (!facts) return [];
  const workers = facts.workers.length
    ? [
        `workers   ${facts.workers.map((worker) => `${worker.name} (${worker.endpoint})`).join(", ")} ${pc.dim("(rpc-server: `rig worker run` on each; no authentication)")}`,
      ]
    : [];
  const nodes = facts.nodes.flatMap((node, index) => [
    `node ${index}    ${pc.bold(node.host)} ${pc.dim(`(${node.role})`)}`,
    ...node.commands.map((argv) => `            ${pc.green(shellLine(argv))}`),
    ...node.notes.map((note) => `            ${pc.dim(note)}`),
  ]);
  return [...workers, ...nodes];
}
