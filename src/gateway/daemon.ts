import { timingSafeEqual } from "node:crypto";
import { mkdirSync, rmSync, watch, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { type Config, loadConfig } from "../config/loader.ts";
import { ConfigError, formatProblem } from "../config/problems.ts";
import { Ledger } from "../ledger/ledger.ts";
import { LogSink } from "../supervisor/log.ts";
import { Supervisor } from "../supervisor/supervisor.ts";
import { describeHolder } from "../system/ports.ts";
import { processStartTime } from "../system/process.ts";
import { type DaemonInfo, handleAdmin } from "./admin.ts";
import { sendError } from "./errors.ts";
import { sendJson } from "./http.ts";
import { ModelProxy } from "./proxy.ts";
import { Recorder } from "./recorder.ts";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

function authorized(req: IncomingMessage, apiKey: string | undefined): boolean {
  if (!apiKey) return true;
  const bearer = req.headers.authorization?.replace(/^Bearer\s+/i, "");
  const presented = bearer ?? (req.headers["x-api-key"] as string | undefined);
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(apiKey);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Watches the folders of every config file (editors replace files rather than write them) and
 * reloads after changes settle; an invalid edit keeps the running config and logs where it is wrong.
 */
function watchConfig(
  config: Config,
  apply: (next: Config) => void,
  logLine: (text: string) => void,
): { close(): void } {
  const watched = new Set(config.files);
  const folders = new Set([...watched].map((file) => dirname(file)));
  let timer: NodeJS.Timeout | undefined;
  let lastText = "";
  const reload = async () => {
    try {
      const next = await loadConfig({ home: config.home.root, positions: true });
      if (next.hash === lastText) return;
      lastText = next.hash;
      apply(next);
    } catch (error) {
      if (error instanceof ConfigError) {
        for (const problem of error.problems) logLine(`config not reloaded: ${formatProblem(problem)}`);
      } else logLine(`config not reloaded: ${(error as Error).message}`);
    }
  };
  lastText = config.hash;
  const watchers = [...folders].map((folder) =>
    watch(folder, (_event, filename) => {
      if (
        filename &&
        !watched.has(join(folder, filename.toString())) &&
        !filename.toString().endsWith(".yaml")
      )
        return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), 200);
    }),
  );
  return {
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}

export interface DaemonOptions {
  home?: string;
  version: string;
  /** Echo the gateway log to stdout (rig gateway run in a terminal). */
  echo: boolean;
}

export interface DaemonState {
  pid: number;
  start_time?: string;
  host: string;
  port: number;
  version: string;
  started_at: string;
}

/** The daemon keeps docs/ current when rig.yaml changes under it; a failure is logged, never fatal. */
async function regenerateDocs(config: Config, logLine: (text: string) => void): Promise<void> {
  const { docsStale } = await import("../docs/stamp.ts");
  if (!docsStale(config)) return;
  try {
    const { writeDocs } = await import("../docs/write.ts");
    for (const action of await writeDocs(config))
      if (action.state !== "unchanged")
        logLine(`docs ${action.state} ${action.path}${action.reason ? `: ${action.reason}` : ""}`);
  } catch (error) {
    logLine(`docs not regenerated: ${(error as Error).message}`);
  }
}

export function daemonStateFile(state: string): string {
  return join(state, "gateway.json");
}

/** The long-lived process: owns the supervisor and the ledger, serves the gateway port. Resolves when it has stopped. */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const config = await loadConfig({ home: options.home, positions: true });
  const { home } = config;
  mkdirSync(home.logs, { recursive: true });
  mkdirSync(home.state, { recursive: true });
  const log = new LogSink(join(home.logs, "gateway.log"));
  const writeLog = (lines: string) => {
    log.write(lines);
    if (options.echo) process.stdout.write(lines);
  };
  const logLine = (text: string) => writeLog(`${new Date().toISOString()} ${text}\n`);
  const ledger = new Ledger(join(home.state, "rig.db"));
  let current = config;
  const supervisor = new Supervisor(config, {
    started: (launch) => ledger.launchStarted(launch),
    ready: (id, readyMs) => ledger.launchReady(id, readyMs),
    ended: (id, end) => ledger.launchEnded(id, end),
  });
  const recorder = new Recorder(writeLog, ledger);
  const proxy = new ModelProxy({ config: () => current, supervisor, recorder });
  for (const leftover of supervisor.reapLeftovers())
    logLine(`reaped a server left by a previous daemon: ${leftover}`);
  supervisor.on("state", (name, state) => logLine(`server ${name}: ${state}`));

  let stopping: Promise<void> | undefined;
  const stateFile = daemonStateFile(home.state);
  const info: DaemonInfo = {
    pid: process.pid,
    version: options.version,
    home: home.root,
    startedAt: new Date().toISOString(),
    shutdown: () => void shutdown("shutdown requested"),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === "/health") {
      return sendJson(res, 200, {
        status: "ok",
        rig: { home: home.root, pid: process.pid, version: options.version },
      });
    }
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(recorder.prometheus(supervisor.status()));
      return;
    }
    if (!authorized(req, current.gateway.apiKey)) {
      const dialect = path.includes("/messages") ? "anthropic" : "openai";
      return sendError(
        res,
        dialect,
        401,
        "missing or wrong API key: send the gateway.api_key as `Authorization: Bearer <key>` or `x-api-key`",
      );
    }
    if (path.startsWith("/rig/v1/")) return handleAdmin(req, res, path, supervisor, info);
    if (await proxy.handle(req, res, path)) return;
    sendError(
      res,
      "openai",
      404,
      `no route ${req.method} ${path}; models are served under /v1/ and /agents/<agent>/v1/`,
    );
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      logLine(`error handling ${req.method} ${req.url}: ${error.stack ?? error.message}`);
      if (!res.headersSent)
        sendJson(res, 500, { error: { message: error.message, type: "server_error", rig: true } });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(
          new Error(
            `gateway port ${config.gateway.port} is taken by ${describeHolder(config.gateway.port)}; stop it or set gateway.port`,
          ),
        );
      } else reject(error);
    });
    server.listen({ host: config.gateway.host, port: config.gateway.port }, () => resolve());
  });
  const state: DaemonState = {
    pid: process.pid,
    start_time: processStartTime(process.pid),
    host: config.gateway.host,
    port: config.gateway.port,
    version: options.version,
    started_at: info.startedAt,
  };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  if (!LOOPBACK.has(config.gateway.host) && !config.gateway.apiKey) {
    logLine(
      `warning: listening on ${config.gateway.host} without gateway.api_key: anyone who can reach it can use your models`,
    );
  }
  logLine(
    `gateway listening on http://${config.gateway.host}:${config.gateway.port} (pid ${process.pid}, home ${home.root})`,
  );

  let resolveStopped: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logLine(`gateway stopping: ${reason}`);
      server.close();
      server.closeAllConnections();
      watcher?.close();
      await supervisor.stopAll("gateway stopped");
      await proxy.close();
      recorder.flush();
      rmSync(stateFile, { force: true });
      ledger.close();
      logLine("gateway stopped");
      log.close();
      resolveStopped();
    })();
    return stopping;
  };
  const watcher = watchConfig(
    config,
    (next) => {
      current = next;
      void supervisor.reload(next);
      logLine(`config reloaded (${next.hash})`);
      void regenerateDocs(next, logLine);
    },
    logLine,
  );
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const)
    process.once(signal, () => void shutdown(signal));
  process.once("uncaughtException", (error) => {
    logLine(`fatal: ${error.stack ?? error.message}`);
    void shutdown("fatal error").then(() => process.exit(1));
  });
  await stopped;
}
