import { defineCommand } from "citty";
import { findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { hasProcess, type ServerStatus } from "../supervisor/status.ts";
import { homeArg, jsonArg, printJson, RigError, UsageError } from "./common.ts";
import { call, configOrRunningDaemon, type DaemonTarget, daemonStatus } from "./daemon-client.ts";

interface StopOutcome {
  stopped: string[];
  not_running: string[];
}

/**
 * Which of the servers asked for a stop actually stopped: the daemon's answer when it says (`was_running`
 * for one, `stopped` for all), else what ran just before the stop was asked for.
 */
function stopOutcome(asked: string[], before: ServerStatus[], answer: unknown): StopOutcome {
  const reply = (answer ?? {}) as { was_running?: unknown; stopped?: unknown };
  const ranBefore = new Set(before.filter(hasProcess).map((server) => server.name));
  const wasRunning = (name: string): boolean => {
    if (asked.length === 1 && typeof reply.was_running === "boolean") return reply.was_running;
    if (Array.isArray(reply.stopped)) return reply.stopped.includes(name);
    return ranBefore.has(name);
  };
  return {
    stopped: asked.filter(wasRunning),
    not_running: asked.filter((name) => !wasRunning(name)),
  };
}

function describeOutcome(outcome: StopOutcome, named: boolean, gatewayRuns: boolean): string {
  const why = gatewayRuns ? "" : " (the gateway is not running)";
  if (outcome.stopped.length) return `stopped ${outcome.stopped.join(", ")}\n`;
  return named ? `${outcome.not_running.join(", ")} was not running${why}\n` : `nothing was running${why}\n`;
}

async function stopOnDaemon(target: DaemonTarget, name: string | undefined): Promise<unknown> {
  const reply = name
    ? await call(target, "POST", `/rig/v1/servers/${encodeURIComponent(name)}/stop`, 60_000)
    : await call(target, "POST", "/rig/v1/stop-all", 120_000);
  if (reply.status !== 200) throw new RigError(`the gateway answered ${reply.status}: ${reply.body}`);
  try {
    return JSON.parse(reply.body);
  } catch {
    return undefined;
  }
}

export default defineCommand({
  meta: {
    name: "stop",
    description:
      "stop a server (or every server with --all), saying which were not running; the gateway keeps running",
  },
  args: {
    server: { type: "positional", description: "server name or alias", required: false },
    all: { type: "boolean", description: "stop every server", default: false },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (!args.server && !args.all) throw new UsageError("name a server, or pass --all");
    // Stopping is always safe: with a broken rig.yaml the running daemon is reached through its state file.
    const view = await configOrRunningDaemon(args.home);
    const { config } = view;
    const running = config ? await daemonStatus(config) : view.status;
    // Without rig.yaml, the names are the ones the daemon serves (aliases live in rig.yaml).
    const names = config ? Object.keys(config.servers) : view.status.servers.map((server) => server.name);
    let name: string | undefined;
    if (args.server) {
      name = config ? findServer(config, args.server)?.name : names.find((known) => known === args.server);
      if (!name) throw new RigError(`no server named \`${args.server}\`${didYouMean(args.server, names)}`);
    }
    const asked = name ? [name] : names;
    const answer = running ? await stopOnDaemon(config ?? view.target, name) : undefined;
    const outcome = stopOutcome(asked, running?.servers ?? [], answer);
    if (args.json) return printJson(outcome);
    process.stdout.write(describeOutcome(outcome, Boolean(name), Boolean(running)));
  },
});
