import { existsSync } from "node:fs";
import { formatDuration } from "../../config/duration.ts";
import { type Agent, type Config, findServer } from "../../config/loader.ts";
import { redactSecrets } from "../../config/secrets.ts";
import { agentFacts, serverFacts } from "../../docs/facts.ts";
import { shellLine } from "../../system/shell.ts";
import type { AgentView, ChainHop, ServerView, StackView } from "./protocol.ts";
import { describeRules } from "./rules-text.ts";

// The servers and agents as rig.yaml defines them, for the page: the hops of `rig explain <agent>` as
// plain lines, secrets shown as their references as everywhere rig shows a config.

function agentView(config: Config, agent: Agent): AgentView {
  const facts = agentFacts(config, agent);
  return {
    name: agent.name,
    harness: agent.harness,
    server: facts.server,
    shim: { path: facts.shim, exists: existsSync(facts.shim) },
    request: agent.request,
    chain: agentChain(config, agent, facts),
  };
}

function agentChain(config: Config, agent: Agent, facts: ReturnType<typeof agentFacts>): ChainHop[] {
  // Undefined for a peer's model (`box2/qwen`): the peer's own page shows its server.
  const profile = findServer(config, agent.server);
  const server = profile && serverFacts(config, profile);
  const rules = [...describeRules("server", server?.request ?? {}), ...describeRules("agent", agent.request)];
  return [
    { step: "shim", lines: [facts.shim] },
    { step: "launcher", lines: [shellLine(["rig", "run", agent.name])] },
    {
      step: "agent",
      lines: [
        `harness ${agent.harness}, model id ${facts.model_id}`,
        ...(facts.args.length ? [`args ${shellLine(facts.args)}`] : []),
        ...Object.entries(facts.env).map(([key, value]) => `env ${key}=${value}`),
      ],
    },
    { step: "gateway", lines: [`${facts.gateway.url} (${facts.gateway.dialect}, ${facts.gateway.route})`] },
    { step: "requests", lines: rules.length ? rules : ["passed through unchanged"] },
    {
      step: "server",
      lines: server
        ? [
            `${server.name}: ${server.runtime}, model ${server.model ?? "(none)"}`,
            server.argv ? shellLine(server.argv) : `${server.upstream} (not launched by rig)`,
          ]
        : [`${agent.server}: a peer's model (rig explain ${agent.server})`],
    },
    {
      step: "harness",
      lines: [
        shellLine([facts.launch.command, ...facts.launch.args]),
        ...Object.entries(facts.launch.env).map(([key, value]) => `${key}=${value}`),
        ...facts.launch.files.map((file) => `writes ${file}`),
      ],
    },
  ];
}

export function stackView(config: Config, version: string): StackView {
  const servers = Object.values(config.servers).map(
    (server): ServerView => ({
      name: server.name,
      runtime: server.runtime,
      model: server.modelPath ?? server.url ?? null,
      context: server.context ?? null,
      ttl: server.ttlMs ? formatDuration(server.ttlMs) : null,
      group: server.group ?? null,
      aliases: server.aliases,
      request: server.request,
    }),
  );
  return redactSecrets(config, {
    home: config.home.root,
    version,
    config_hash: config.hash,
    servers,
    agents: Object.values(config.agents).map((agent) => agentView(config, agent)),
  });
}
