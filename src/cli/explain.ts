import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { formatDuration } from "../config/duration.ts";
import { type Agent, type Config, findServer, type Server } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import type { RequestRules } from "../config/schema.ts";
import { agentUrl, gatewayUrl } from "../gateway/urls.ts";
import { harnessFor } from "../harnesses/index.ts";
import { agentLaunch } from "../harnesses/plan.ts";
import { launchPlan } from "../supervisor/plan.ts";
import { shellLine } from "../system/shell.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError } from "./common.ts";

function serverFacts(config: Config, server: Server) {
  const plan = launchPlan(config, server);
  return {
    name: server.name,
    runtime: server.runtime,
    model: server.modelPath ?? server.url ?? null,
    argv: plan.process?.argv ?? null,
    env: plan.process?.env ?? {},
    port: server.port ?? null,
    upstream: plan.baseUrl,
    upstream_model: plan.upstreamModel,
    context: server.context ?? null,
    ttl: server.ttlMs ? formatDuration(server.ttlMs) : null,
    group: server.group ?? null,
    aliases: server.aliases,
    native_dialects: [...plan.adapter.dialects],
    translate: server.translate,
    timeout: {
      start: formatDuration(server.startTimeoutMs),
      response: formatDuration(server.responseTimeoutMs),
    },
    notes: server.notes ?? null,
    where: config.where(["servers", server.name]),
    request: server.request,
  };
}

function agentFacts(config: Config, agent: Agent) {
  const server = findServer(config, agent.server)!;
  const harness = harnessFor(agent.harness);
  const shim = join(config.paths.bin, agent.name);
  const native = launchPlan(config, server).adapter.dialects.includes(harness.dialect);
  const launch = agentLaunch(config, agent);
  return {
    kind: "agent" as const,
    name: agent.name,
    shim: { path: shim, exists: existsSync(shim) },
    launcher: { argv: ["rig", "run", agent.name] },
    agent: {
      harness: agent.harness,
      command: config.harnesses[agent.harness]?.command ?? harness.defaultCommand,
      server: server.name,
      model_id: agent.model_id ?? server.name,
      args: agent.args,
      env: agent.env,
      where: config.where(["agents", agent.name]),
    },
    server: serverFacts(config, server),
    gateway: {
      url: agentUrl(config, agent.name),
      dialect: harness.dialect,
      route: native ? "native" : `translated ${harness.dialect} → chat`,
    },
    request: { server: server.request, agent: agent.request },
    harness: {
      command: launch.command,
      args: launch.args,
      env: launch.env,
      files: launch.files.map((file) => file.path),
    },
  };
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

function serverLines(server: ReturnType<typeof serverFacts>): string[] {
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
    pc.dim(`defined   ${server.where.file}:${server.where.line}:${server.where.col}`),
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
    const agent = config.agents[args.name];
    const server = agent ? undefined : findServer(config, args.name);
    if (!agent && !server) {
      const names = [...Object.keys(config.agents), ...Object.keys(config.servers)];
      throw new RigError(
        `no agent or server named \`${args.name}\`${didYouMean(args.name, names)} (see \`rig ls\`)`,
      );
    }
    if (agent) {
      const facts = agentFacts(config, agent);
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
          hop(6, "server", [pc.bold(facts.server.name), ...serverLines(facts.server)]),
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
      ...serverFacts(config, server!),
      gateway: { url: gatewayUrl(config), model: server!.name },
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
        hop(4, "agents", [users.map((user) => user.name).join(", ") || pc.dim("none")]),
        "",
      ].join("\n"),
    );
  },
});
