import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { type HomePaths, homePaths, RUNTIME_KEY_FILE } from "../config/home.ts";
import type { Config } from "../config/loader.ts";
import { ConfigError } from "../config/problems.ts";
import { gatewayUrl } from "../config/urls.ts";
import { readAdminToken } from "../gateway/admin-token.ts";
import { type DaemonState, daemonStateFile } from "../gateway/daemon-state.ts";
import { homeIsHeld } from "../gateway/home-lock.ts";
import type { PeerStatus } from "../peers/registry.ts";
import { localUrl } from "../runtimes/args.ts";
import type { ServerStatus } from "../supervisor/status.ts";
import { readHomeSecret } from "../system/home-secrets.ts";
import { isAlive, sleep } from "../system/process.ts";
import { pc } from "./colors.ts";
import { loadOrProblems, printProblems, RigError } from "./common.ts";

export interface DaemonStatus {
  pid: number;
  version: string;
  home: string;
  started_at: string;
  config_hash: string;
  servers: ServerStatus[];
  /** Absent from a daemon older than peers. */
  peers?: PeerStatus[];
}

interface Reply {
  status: number;
  body: string;
}

/**
 * A home's daemon found without rig.yaml (it does not load): where state/gateway.json says it listens.
 * The daemon keeps serving the config it last loaded, so status, logs and stop still reach it.
 */
export interface StateTarget {
  url: string;
  home: HomePaths;
  state: DaemonState;
}

/** What the CLI reaches a daemon through: the loaded config, or the daemon's state file. */
export type DaemonTarget = Config | StateTarget;

function isStateTarget(target: DaemonTarget): target is StateTarget {
  return "url" in target;
}

function urlOf(target: DaemonTarget): string {
  return isStateTarget(target) ? target.url : gatewayUrl(target);
}

export function readDaemonState(stateDir: string): DaemonState | undefined {
  try {
    return JSON.parse(readFileSync(daemonStateFile(stateDir), "utf8")) as DaemonState;
  } catch {
    return undefined;
  }
}

/** The home's daemon as its state file describes it, or undefined when the file is not there. */
export function stateTarget(home: HomePaths): StateTarget | undefined {
  const state = readDaemonState(home.state);
  return state && { url: localUrl(state.host, String(state.port)), home, state };
}

function authHeaders(target: DaemonTarget): Record<string, string> {
  const headers: Record<string, string> = {};
  // Without rig.yaml there is no api key to send: only the admin token, which is enough on a gateway without one.
  if (!isStateTarget(target) && target.gateway.apiKey)
    headers.authorization = `Bearer ${target.gateway.apiKey}`;
  const token = readAdminToken(target.home.state);
  if (token) headers["x-rig-admin-token"] = token;
  return headers;
}

export function call(
  target: DaemonTarget,
  method: string,
  path: string,
  timeoutMs = 5000,
  body?: unknown,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      urlOf(target) + path,
      {
        method,
        agent: false,
        timeout: timeoutMs,
        headers: {
          ...authHeaders(target),
          ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`the gateway did not answer ${method} ${path} within ${timeoutMs} ms`)),
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** The daemon's status, or undefined when no gateway runs; an error when the port holds something else. */
export async function daemonStatus(target: DaemonTarget): Promise<DaemonStatus | undefined> {
  const url = urlOf(target);
  let health: Reply;
  try {
    health = await call(target, "GET", "/health", 2000);
  } catch {
    return undefined;
  }
  let home: string | undefined;
  try {
    home = JSON.parse(health.body)?.rig?.home;
  } catch {}
  // A gateway with an api key names its home only to a caller with the key, which is in rig.yaml.
  if (!home && isStateTarget(target))
    throw new RigError(
      `the gateway on ${url} wants its api key, which rig reads from rig.yaml: fix rig.yaml`,
    );
  if (!home)
    throw new RigError(`${url} is served by something that is not rig; stop it or change gateway.port`);
  if (home !== target.home.root) {
    throw new RigError(
      `the gateway on ${url} belongs to another rig home (${home}); stop it (rig gateway stop --home ${home}) or give this home another gateway.port`,
    );
  }
  const reply = await call(target, "GET", "/rig/v1/status");
  if (reply.status === 401) throw new RigError("the gateway refused rig's key: check gateway.api_key");
  return JSON.parse(reply.body) as DaemonStatus;
}

/**
 * The daemon's peers, each listed now (the daemon bounds every listing at 5 s; they run side by side):
 * reachability and round-trip time as of this call.
 */
export async function freshPeers(target: DaemonTarget): Promise<PeerStatus[]> {
  const reply = await call(target, "GET", "/rig/v1/peers?refresh=1", 10_000);
  if (reply.status !== 200)
    throw new RigError(`the gateway did not list its peers (${reply.status}): ${reply.body}`);
  return (JSON.parse(reply.body) as { peers: PeerStatus[] }).peers;
}

/** The home seen through rig.yaml, or through its running daemon when rig.yaml does not load. */
export type HomeView = { config: Config } | { config?: undefined; target: StateTarget; status: DaemonStatus };

/**
 * For commands that only look at or stop what runs (ps, gateway status, stop): a rig.yaml broken since
 * the daemon started must not lock its user out of it. Its problems are noted and the daemon is reached
 * through state/gateway.json; with no daemon running the problems stop the command (exit 1), as always.
 */
export async function configOrRunningDaemon(home: string | undefined): Promise<HomeView> {
  const loaded = await loadOrProblems(home);
  if (!(loaded instanceof ConfigError)) return { config: loaded };
  const target = stateTarget(homePaths(home));
  let status: DaemonStatus | undefined;
  try {
    status = target && (await daemonStatus(target));
  } catch (error) {
    printProblems(loaded);
    throw error;
  }
  if (!target || !status) {
    printProblems(loaded);
    process.exit(1);
  }
  printProblems(loaded, "note");
  process.stderr.write(
    `${pc.yellow("note:")} rig.yaml does not load (\`rig doctor\`); acting on the running gateway (pid ${status.pid} on ${target.url}), which keeps the config it last loaded\n`,
  );
  return { target, status };
}

function logTail(config: Config, lines = 15): string {
  try {
    return readFileSync(join(config.home.logs, "gateway.log"), "utf8")
      .trimEnd()
      .split("\n")
      .slice(-lines)
      .join("\n");
  } catch {
    return "";
  }
}

/** Starts the daemon detached (logs to logs/gateway.log) and waits until it answers. */
export async function startDaemon(config: Config): Promise<DaemonStatus> {
  const main = process.argv[1]!;
  mkdirSync(config.home.logs, { recursive: true });
  const out = openSync(join(config.home.logs, "gateway.log"), "a");
  // A small young generation keeps the daemon's memory flat under many concurrent streams.
  const child = spawn(
    process.execPath,
    ["--max-semi-space-size=4", main, "gateway", "run", "--home", config.home.root],
    {
      detached: true,
      stdio: ["ignore", out, out],
      env: { ...process.env, RIG_DAEMON: "1" },
    },
  );
  child.unref();
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const status = await daemonStatus(config).catch(() => undefined);
    if (status) {
      // The daemon makes the home's runtime key on its first start: the config held here carries it
      // from now on, for what this command sends to a server's own port (rig bench's direct path).
      config.runtimeKey ??= readHomeSecret(config.home.state, RUNTIME_KEY_FILE);
      return status;
    }
    // A daemon that exits because this home already has one (still starting, or rebinding to a
    // changed gateway.port as it reloads rig.yaml) is no failure: wait for that one to answer.
    if (child.pid && !isAlive(child.pid) && !homeIsHeld(config.home.state)) break;
    await sleep(50);
  }
  throw new RigError(
    `the gateway did not start; last lines of ${join(config.home.logs, "gateway.log")}:\n${logTail(config)}`,
  );
}

export async function ensureDaemon(config: Config): Promise<DaemonStatus> {
  return (await daemonStatus(config)) ?? (await startDaemon(config));
}

export interface StartEvent {
  event: "progress" | "ready" | "failed";
  elapsed_ms?: number;
  line?: string | null;
  error?: string;
  tail?: string[];
  server?: ServerStatus;
}

/** Asks the daemon to bring a server to ready, reporting progress; resolves with the final event. */
export function startServer(
  config: Config,
  name: string,
  onEvent: (event: StartEvent) => void,
): Promise<StartEvent> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${gatewayUrl(config)}/rig/v1/servers/${encodeURIComponent(name)}/start`,
      { method: "POST", agent: false, headers: authHeaders(config) },
      (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString();
            let message = text;
            try {
              message = JSON.parse(text).error ?? text;
            } catch {}
            reject(new RigError(message));
          });
          return;
        }
        let buffered = "";
        let last: StartEvent | undefined;
        res.on("data", (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split("\n");
          buffered = lines.pop() ?? "";
          for (const line of lines) {
            if (!line.trim()) continue;
            last = JSON.parse(line) as StartEvent;
            onEvent(last);
          }
        });
        res.on("end", () =>
          last && last.event !== "progress"
            ? resolve(last)
            : reject(new RigError("the gateway closed the start request early; see `rig logs gateway`")),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}
