import { join, relative } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { readBenchRuns, storedRun } from "../bench/history.ts";
import { commandOf, headlines } from "../bench/report.ts";
import { formatDuration } from "../config/duration.ts";
import { type Agent, type Config, findServer, peerModel, type Server } from "../config/loader.ts";
import { redactSecrets } from "../config/secrets.ts";
import { agentUrl, gatewayUrl } from "../config/urls.ts";
import { harnessFor } from "../harnesses/index.ts";
import { agentLaunch } from "../harnesses/plan.ts";
import type { ModelFingerprint } from "../inventory/fingerprint.ts";
import type { BenchRow } from "../ledger/ledger.ts";
import { runtimeFor } from "../runtimes/index.ts";
import { launchPlan } from "../runtimes/plan.ts";
import { shellLine } from "../system/shell.ts";

// The facts `rig explain` prints and `rig docs` writes: one place computes them from the config.

/** A server profile as it will run: its exact argv comes from the same launchPlan the supervisor uses. */
export function serverFacts(config: Config, server: Server) {
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
    request: server.request,
    notes: server.notes ?? null,
  };
}

/** An agent profile as `rig run` launches it: the harness command, env and files, and its route. */
export function agentFacts(config: Config, agent: Agent) {
  // Undefined for a peer's model (`box2/qwen`): the peer's gateway decides how its runtime is spoken to.
  const server = findServer(config, agent.server);
  const harness = harnessFor(agent.harness);
  const native = server && launchPlan(config, server).adapter.dialects.includes(harness.dialect);
  const launch = agentLaunch(config, agent);
  return {
    name: agent.name,
    shim: join(config.paths.bin, agent.name),
    harness: agent.harness,
    server: server?.name ?? agent.server,
    model_id: agent.model_id ?? server?.name ?? agent.server,
    args: agent.args,
    env: agent.env,
    gateway: {
      url: agentUrl(config, agent.name),
      dialect: harness.dialect,
      route: !server
        ? `to peer ${peerModel(config, agent.server)?.peer.name}`
        : native
          ? "native"
          : `translated ${harness.dialect} → chat`,
    },
    request: agent.request,
    launch: {
      command: launch.command,
      args: launch.args,
      env: launch.env,
      files: launch.files.map((file) => file.path),
    },
    notes: agent.notes ?? null,
  };
}

/** The commands that start, check and stop a server, exactly as an agent should type them. */
export function serverCommands(config: Config, server: Server) {
  const body = JSON.stringify({
    model: server.name,
    messages: [{ role: "user", content: "Say OK." }],
    max_tokens: 8,
  });
  // The key as the shell knows it: the variable rig.yaml takes it from, else one the reader sets.
  const keyReference = config.gateway.apiKey && config.expanded.get(config.gateway.apiKey);
  const keyVariable = keyReference ? `$${keyReference.slice(6, -1)}` : "$RIG_API_KEY";
  const auth = config.gateway.apiKey ? ` -H "authorization: Bearer ${keyVariable}"` : "";
  return {
    start: `rig serve ${server.name}`,
    status: `rig ps --all --json`,
    check: `curl -sf ${gatewayUrl(config)}/v1/chat/completions${auth} -H 'content-type: application/json' -d '${body}'`,
    logs: `rig logs ${server.name} -n 50`,
    stop: `rig stop ${server.name}`,
  };
}

export type ModelInspector = (path: string) => ModelFingerprint | undefined;

/**
 * A server's last `rig bench` run as docs tell it: the day it was recorded (the ledger's, never the
 * clock's), the command, what it found, and whether the profile changed since.
 */
function measurement(server: Server, row: BenchRow | undefined) {
  if (!row) return null;
  const run = storedRun(row);
  return {
    date: run.at.slice(0, 10),
    command: commandOf(server.name, run.settings),
    findings: headlines(run),
    profile_changed_since: run.profile_hash !== server.profileHash,
  };
}

/**
 * Everything docs/ says, as data: deterministic for one config and one disk (no clocks), with every
 * value that came from `${env:…}` shown as that reference, so secrets never reach a committed file.
 */
export function stackFacts(
  config: Config,
  inspect: ModelInspector,
  lastBenchRuns: BenchRow[] = readBenchRuns(config.home.state, (ledger) => ledger.lastBenchRuns()),
) {
  const home = config.home.root;
  const facts = {
    $schema: "./stack.schema.json",
    generated_by: "rig docs",
    rig_version: packageJson.version,
    home,
    config_files: config.files.map((file) => relative(home, file)),
    gateway: {
      url: gatewayUrl(config),
      openai_base_url: `${gatewayUrl(config)}/v1`,
      auth: config.gateway.apiKey ? "Authorization: Bearer <gateway.api_key>, or x-api-key" : "none",
      log: join(config.home.logs, "gateway.log"),
    },
    servers: Object.values(config.servers).map((server) => {
      const pathModel = runtimeFor(server.runtime).modelKind !== "tag" && server.modelPath?.startsWith("/");
      const fingerprint = pathModel ? inspect(server.modelPath!) : undefined;
      return {
        ...serverFacts(config, server),
        model_file: pathModel
          ? {
              path: server.modelPath!,
              exists: fingerprint !== undefined,
              size: fingerprint?.size ?? null,
              sample_sha256: fingerprint?.sample_sha256 ?? null,
            }
          : null,
        log: join(config.home.logs, `${server.name}.log`),
        measured: measurement(
          server,
          lastBenchRuns.find((row) => row.server === server.name),
        ),
        commands: serverCommands(config, server),
        agents: Object.values(config.agents)
          .filter((agent) => findServer(config, agent.server) === server)
          .map((agent) => agent.name),
      };
    }),
    agents: Object.values(config.agents).map((agent) => {
      const facts = agentFacts(config, agent);
      return {
        ...facts,
        commands: {
          run: agent.name,
          run_via_rig: `rig run ${agent.name}`,
          explain: `rig explain ${agent.name}`,
        },
        launch_line: shellLine([facts.launch.command, ...facts.launch.args]),
      };
    }),
  };
  return redactSecrets(config, facts);
}

export type StackFacts = ReturnType<typeof stackFacts>;
