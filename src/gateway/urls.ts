import type { Config } from "../config/loader.ts";
import { localUrl } from "../runtimes/args.ts";

export function gatewayUrl(config: Config): string {
  return localUrl(config.gateway.host, String(config.gateway.port));
}

/** The base URL an agent is given: every route under it is pinned to the agent's server. */
export function agentUrl(config: Config, agent: string): string {
  return `${gatewayUrl(config)}/agents/${agent}`;
}
