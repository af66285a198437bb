import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { formatSize } from "../config/duration.ts";
import { type Agent, type Config, findServer, type Peer, peerModel, type Server } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import type { RequestRules } from "../config/schema.ts";
import { redactSecrets } from "../config/secrets.ts";
import { gatewayUrl } from "../config/urls.ts";
import { agentFacts, serverFacts } from "../docs/facts.ts";
import { harnessFor } from "../harnesses/index.ts";
import { type Budget, budgetOf } from "../memory/budget.ts";
import { fitReport } from "../memory/fit.ts";
import { readMachine } from "../memory/machine.ts";
import { fallbackChain, peerDialects, resolveTarget } from "../peers/hop.ts";
import type { PeerKind } from "../peers/registry.ts";
import { shellLine } from "../system/shell.ts";
import { acrossHosts, acrossHostsLines } from "./across-hosts.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError } from "./common.ts";
import { inPools } from "./fit.ts";

// What explain prints goes into terminals, pastes and bug reports: secrets are shown as their references.

function explainServer(config: Config, server: Server, budget: Budget) {
  const { server: _name, runtime: _runtime, ...memory } = fitReport(config, server, budget, {});
  return redactSecrets(config, {
    ...serverFacts(config, server),
    where: config.where(["servers", server.name]),
    memory,
    across_hosts: acrossHosts(config, server),
  });
}

function explainAgent(config: Config, agent: Agent, budget: Budget, peerKind?: PeerKind) {
  const facts = agentFacts(config, agent);
  const target = resolveTarget(config, agent.server)!;
  const server = target.kind === "server" ? target.server : undefined;
  return redactSecrets(config, {
    kind: "agent" as const,
    name: agent.name,
    shim: { path: facts.shim, exists: existsSync(facts.shim) },
    launcher: { argv: ["rig", "run", agent.name] },
    agent: {
      harness: agent.harness,
      command: config.harnesses[agent.harness]?.command ?? harnessFor(agent.harness).defaultCommand,
      server: facts.server,
      model_id: facts.model_id,
      args: facts.args,
      env: facts.env,
      where: config.where(["agents", agent.name]),
    },
    server: server ? explainServer(config, server, budget) : null,
    peer:
      target.kind === "peer"
        ? explainPeerModel(config, agent.server, target.peer, target.model, peerKind).peer
        : null,
    gateway: facts.gateway,
    request: { server: server?.request ?? {}, agent: agent.request },
    harness: facts.launch,
  });
}

/** A peer's model: where requests for it go, with which key, and which side translates. */
function explainPeerModel(
  config: Config,
  name: string,
  peer: Peer,
  model: string,
  kind: PeerKind | undefined,
) {
  return redactSecrets(config, {
    kind: "peer-model" as const,
    name,
    gateway: { url: gatewayUrl(config), model: name },
    peer: {
      name: peer.name,
      url: peer.url,
      // Shown as its reference (`${env:BOX2_KEY}`) or `<peers.NAME.api_key>` by redactSecrets: never the key.
      api_key: peer.apiKey ?? null,
      timeout_ms: peer.timeoutMs,
      kind: kind ?? null,
      where: config.where(["peers", peer.name]),
    },
    model,
    passes_through: [...peerDialects(kind)],
    agents: Object.values(config.agents)
      .filter((agent) => agent.server === name)
      .map((agent) => agent.name),
  });
}

/** Each target of a server's fallback chain after the server itself, as `rig explain` shows it. */
function fallbackFacts(config: Config, server: Server) {
  return fallbackChain(server)
    .slice(1)
    .map((name) => {
      const target = resolveTarget(config, name);
      return target?.kind === "peer"
        ? { name, kind: "peer" as const, peer: target.peer.name, url: target.peer.url, model: target.model }
        : { name, kind: "server" as const, runtime: target?.server.runtime ?? null };
    });
}

function fallbackLines(fallback: ReturnType<typeof fallbackFacts>): string[] {
  if (!fallback.length) return [pc.dim("none: a server that cannot take a request answers 503")];
  return [
    ...fallback.map((target, index) =>
      target.kind === "peer"
        ? `${index + 1}. ${target.name}  ${pc.dim(`(peer ${target.peer} at ${target.url}, model ${target.model})`)}`
        : `${index + 1}. ${target.name}  ${pc.dim(`(server, ${target.runtime})`)}`,
    ),
    pc.dim(
      "tried in order when the one before cannot start, is unreachable or answers 503; never after a byte",
    ),
  ];
}

/** The daemon's last word on what a peer is (a rig gateway or not), if a daemon runs. */
async function peerKindFromDaemon(config: Config, name: string): Promise<PeerKind | undefined> {
  try {
    const { daemonStatus } = await import("./daemon-client.ts");
    const status = await daemonStatus(config);
    return status?.peers?.find((peer) => peer.name === name)?.kind ?? undefined;
  } catch {
    return undefined;
  }
}

function peerLines(peer: ReturnType<typeof explainPeerModel>["peer"], name: string): string[] {
  const side =
    peer.kind === "rig"
      ? "a rig gateway: every dialect but Gemini passes through, the peer translates for its runtime"
      : peer.kind === "openai"
        ? "an OpenAI-compatible server: Chat, completions and embeddings pass through, rig translates the rest to Chat"
        : "not listed yet (is the gateway running?): taken as OpenAI-compatible until it answers";
  return [
    `${pc.bold(peer.name)} ${peer.url}  model: ${name.slice(peer.name.length + 1)}`,
    `key       ${peer.api_key ?? pc.dim("none")} ${pc.dim("(sent as Authorization and x-api-key; the client's own key is never forwarded)")}`,
    `timeout   ${Math.round(peer.timeout_ms / 1000)}s`,
    `is        ${side}`,
    pc.dim(`defined   ${peer.where.file}:${peer.where.line}:${peer.where.col}`),
  ];
}

function printPeerModel(facts: ReturnType<typeof explainPeerModel>): void {
  process.stdout.write(
    [
      `${pc.bold(facts.name)} ${pc.dim("(a peer's model)")}`,
      hop(1, "gateway", [`${facts.gateway.url}/v1  model: ${facts.name}`]),
      hop(2, "peer", peerLines(facts.peer, facts.name)),
      hop(3, "agents", [facts.agents.join(", ") || pc.dim("none")]),
      "",
    ].join("\n"),
  );
}

function rulesLines(owner: string, rules: RequestRules): string[] {
  const lines: string[] = [];
  if (rules.set)
    lines.push(`${owner} set       ${JSON.stringify(rules.set)}  ${pc.dim("(wins over the client)")}`);
  if (rules.defaults)
    lines.push(
      `${owner} defaults  ${JSON.stringify(rules.defaults)}  ${pc.dim("(only where the client is silent)")}`,
    );
  if (rules.drop) lines.push(`${owner} drop      ${rules.drop.join(", ")}`);
  return lines;
}

function serverLines(server: ReturnType<typeof explainServer>): string[] {
  const env = Object.entries(server.env);
  return [
    `runtime   ${server.runtime}`,
    `model     ${server.model ?? pc.dim("(none)")}`,
    server.argv
      ? `argv      ${pc.green(shellLine(server.argv))}`
      : `upstream  ${server.upstream} ${pc.dim("(not launched by rig)")}`,
    ...(env.length ? [`env       ${env.map(([key, value]) => `${key}=${value}`).join(" ")}`] : []),
    `port      ${server.port ?? pc.dim("assigned at launch")}`,
    `context   ${server.context ?? pc.dim("runtime default")}`,
    `ttl       ${server.ttl ?? pc.dim("stays loaded")}`,
    `group     ${server.group ?? pc.dim("none")}`,
    `aliases   ${server.aliases.join(", ") || pc.dim("none")}`,
    `timeouts  start ${server.timeout.start}, response ${server.timeout.response}`,
    `speaks    ${server.native_dialects.join(", ")} (translate: ${server.translate})`,
    ...(server.notes ? [`notes     ${server.notes}`] : []),
    ...memoryLines(server.memory),
    ...acrossHostsLines(server.across_hosts),
    pc.dim(`defined   ${server.where.file}:${server.where.line}:${server.where.col}`),
  ];
}

/** Its memory in one line (`rig fit` has the whole report). */
function memoryLines(memory: ReturnType<typeof explainServer>["memory"]): string[] {
  // Nothing known to size (vLLM's share of a GPU this machine lacks): the note says why, a "0 B" would not.
  if (memory.total === null || (memory.total === 0 && memory.notes.length))
    return [`memory    ${pc.dim(memory.notes.at(-1) ?? "unknown")}`];
  const parts = memory.estimate
    ? `: weights ${formatSize(memory.estimate.weights)} + KV ${formatSize(memory.estimate.kv)}${memory.context ? ` at ${memory.context} tokens` : ""} + compute ${formatSize(memory.estimate.compute)}`
    : "";
  const fits = memory.fits ? "fits the budget" : pc.red("does not fit the budget (rig fit)");
  return [
    `memory    ${formatSize(memory.total)} in ${inPools(memory.where)} ${pc.dim(`(${memory.source}${parts})`)}; ${fits}`,
  ];
}

function hop(index: number, title: string, lines: string[]): string {
  const [first = "", ...rest] = lines;
  const pad = " ".repeat(15);
  return [
    `${pc.bold(`${index}`)} ${pc.cyan(title.padEnd(12))} ${first}`,
    ...rest.map((line) => pad + line),
  ].join("\n");
}

export default defineCommand({
  meta: {
    name: "explain",
    description: "show the whole chain for an agent or server: shim → launcher → agent → server → model",
  },
  args: {
    name: { type: "positional", description: "agent or server name", required: true },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args }) {
    const config = await loadOrExit(args.home, { positions: true });
    const budget = budgetOf(config.memory, await readMachine());
    const agent = Object.hasOwn(config.agents, args.name) ? config.agents[args.name] : undefined;
    const server = agent ? undefined : findServer(config, args.name);
    const onPeer = agent || server ? undefined : resolveTarget(config, args.name);
    if (onPeer?.kind === "peer") {
      const kind = await peerKindFromDaemon(config, onPeer.peer.name);
      const facts = explainPeerModel(config, args.name, onPeer.peer, onPeer.model, kind);
      return args.json ? printJson(facts) : printPeerModel(facts);
    }
    if (!agent && !server) {
      const names = [...Object.keys(config.agents), ...Object.keys(config.servers)];
      throw new RigError(
        `no agent, server or <peer>/<model> named \`${args.name}\`${didYouMean(args.name, names)} (see \`rig ls\`)`,
      );
    }
    if (agent) {
      const onPeer = peerModel(config, agent.server);
      const kind = onPeer && (await peerKindFromDaemon(config, onPeer.peer.name));
      const facts = explainAgent(config, agent, budget, kind);
      if (args.json) return printJson(facts);
      const rules = [
        ...rulesLines("server", facts.request.server),
        ...rulesLines("agent ", facts.request.agent),
      ];
      process.stdout.write(
        [
          `${pc.bold(agent.name)} ${pc.dim("(agent)")}`,
          hop(1, "shim", [
            `${facts.shim.path}${facts.shim.exists ? "" : pc.dim("  (not written yet: rig shims sync)")}`,
          ]),
          hop(2, "launcher", [shellLine(facts.launcher.argv)]),
          hop(3, "agent", [
            `harness ${facts.agent.harness} (${shellLine(facts.agent.command)}), model id ${facts.agent.model_id}`,
            ...(facts.agent.args.length ? [`args ${shellLine(facts.agent.args)}`] : []),
            ...Object.entries(facts.agent.env).map(([key, value]) => `env ${key}=${value}`),
          ]),
          hop(4, "gateway", [
            `${facts.gateway.url}  ${pc.dim(`(${facts.gateway.dialect}, ${facts.gateway.route})`)}`,
          ]),
          hop(5, "requests", rules.length ? rules : [pc.dim("passed through unchanged")]),
          facts.server
            ? hop(6, "server", [pc.bold(facts.server.name), ...serverLines(facts.server)])
            : hop(6, "peer", peerLines(facts.peer!, facts.agent.server)),
          hop(7, "harness", [
            `${pc.green(shellLine([facts.harness.command, ...facts.harness.args]))}`,
            ...Object.entries(facts.harness.env).map(
              ([key, value]) => `${key}=${value.length > 120 ? `${value.slice(0, 117)}...` : value}`,
            ),
            ...facts.harness.files.map((file) => `writes ${file}`),
          ]),
          "",
        ].join("\n"),
      );
      return;
    }
    const facts = {
      kind: "server" as const,
      ...explainServer(config, server!, budget),
      gateway: { url: gatewayUrl(config), model: server!.name },
      fallback: fallbackFacts(config, server!),
    };
    const users = Object.values(config.agents).filter(
      (candidate) => findServer(config, candidate.server) === server,
    );
    if (args.json) return printJson({ ...facts, agents: users.map((user) => user.name) });
    process.stdout.write(
      [
        `${pc.bold(server!.name)} ${pc.dim("(server)")}`,
        hop(1, "gateway", [
          `${facts.gateway.url}/v1  model: ${[server!.name, ...server!.aliases].join(" | ")}`,
        ]),
        hop(
          2,
          "requests",
          rulesLines("server", facts.request).length
            ? rulesLines("server", facts.request)
            : [pc.dim("passed through unchanged")],
        ),
        hop(3, "server", serverLines(facts)),
        hop(4, "fallback", fallbackLines(facts.fallback)),
        hop(5, "agents", [users.map((user) => user.name).join(", ") || pc.dim("none")]),
        "",
      ].join("\n"),
    );
  },
});
