import { localUrl } from "../runtimes/args.ts";
import type { Config } from "./loader.ts";

// Where the gateway answers follows from rig.yaml alone, so every layer that names it (harness plans,
// docs, the CLI, the daemon) reads it here, below all of them.

export function gatewayUrl(config: Config): string {
  return localUrl(config.gateway.host, String(config.gateway.port));
}

/** The base URL an agent is given: every route under it is pinned to the agent's server. */
export function agentUrl(config: Config, agent: string): string {
  return `${gatewayUrl(config)}/agents/${agent}`;
}
