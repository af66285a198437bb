import { join } from "node:path";
import type { Agent, Config } from "../config/loader.ts";
import { findServer, peerModel } from "../config/loader.ts";
import { agentUrl } from "../config/urls.ts";
import { harnessFor } from "./index.ts";
import type { HarnessLaunch } from "./types.ts";

/**
 * The one function that turns an agent profile into the exact agent launch: `rig run`, `rig run
 * --dry-run`, `rig explain` and the docs all call it. The agent's own `args` and `env` come last,
 * then the arguments given after `--`.
 */
export function agentLaunch(config: Config, agent: Agent, extraArgs: string[] = []): HarnessLaunch {
  // A peer's model (`box2/qwen`) is named as it is: its context is the peer's to know.
  const server = findServer(config, agent.server);
  if (!server && !peerModel(config, agent.server))
    throw new Error(`agent ${agent.name} names unknown server ${agent.server}`);
  const harness = harnessFor(agent.harness);
  const launch = harness.launch({
    agent: agent.name,
    baseUrl: agentUrl(config, agent.name),
    model: agent.model_id ?? server?.name ?? agent.server,
    context: server?.context,
    apiKey: config.gateway.apiKey,
    stateDir: join(config.home.state, "harnesses", agent.name),
    command: config.harnesses[agent.harness]?.command ?? harness.defaultCommand,
  });
  return {
    ...launch,
    args: [...launch.args, ...agent.args, ...extraArgs],
    env: { ...launch.env, ...agent.env },
  };
}
