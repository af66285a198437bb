import type { Config, Server } from "../config/loader.ts";
import { runtimeFor } from "./index.ts";
import type { LaunchInput, ProcessSpec, RuntimeAdapter } from "./types.ts";

const UNASSIGNED_PORT = "<port>";

export interface LaunchPlan {
  adapter: RuntimeAdapter;
  input: LaunchInput;
  /** null for servers rig reaches but does not launch (remote). */
  process: ProcessSpec | null;
  baseUrl: string;
  healthUrl: string;
  upstreamModel: string;
  /** What every request to the server carries besides the client's headers (the runtime's key). */
  upstreamHeaders: Record<string, string>;
}

/** A worker as llama.cpp's `--rpc` takes it (`host:port`; the loader has checked that the name exists). */
function workerEndpoint(config: Config, name: string): string {
  const worker = config.workers[name];
  return worker ? `${worker.host}:${worker.port}` : name;
}

/**
 * The one function that turns a server profile into the exact launch: `rig explain`, `rig docs`,
 * the supervisor and the ledger all call it, so what is shown is what runs.
 */
export function launchPlan(config: Config, server: Server, port?: number): LaunchPlan {
  const adapter = runtimeFor(server.runtime);
  const input: LaunchInput = {
    name: server.name,
    model: server.modelPath,
    url: server.url,
    command: adapter.requires === "command" ? server.command : config.runtimes[server.runtime]?.command,
    args: server.args,
    host: server.host ?? "127.0.0.1",
    port: String(port ?? server.port ?? UNASSIGNED_PORT),
    env: server.env,
    context: server.context,
    rpc: server.rpc.length ? server.rpc.map((name) => workerEndpoint(config, name)) : undefined,
    tensorSplit: server.tensor_split,
    nodes: server.nodes.length ? server.nodes : undefined,
    accessKey: config.runtimeKey,
  };
  const baseUrl = adapter.baseUrl(input);
  return {
    adapter,
    input,
    process: adapter.process(input),
    baseUrl,
    healthUrl: baseUrl + (server.health ?? adapter.healthPath),
    upstreamModel: adapter.upstreamModel(input),
    upstreamHeaders: adapter.upstreamHeaders?.(input) ?? {},
  };
}
