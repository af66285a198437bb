import { mkdirSync, readFileSync, rmSync, watch, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { VariantProfiles } from "../bench/variants.ts";
import { homePaths, RUNTIME_KEY_FILE } from "../config/home.ts";
import { type Config, loadConfig } from "../config/loader.ts";
import { ConfigError, formatProblem, type Problem } from "../config/problems.ts";
import { Ledger } from "../ledger/ledger.ts";
import { writeFailures } from "../ledger/write-failures.ts";
import { PeerRegistry } from "../peers/registry.ts";
import { LogSink } from "../supervisor/log.ts";
import { Supervisor } from "../supervisor/supervisor.ts";
import { ensureHomeSecret } from "../system/home-secrets.ts";
import { describeHolder } from "../system/ports.ts";
import { processStartTime } from "../system/process.ts";
import type { BenchDesk, DaemonInfo } from "./admin.ts";
import { ensureAdminToken } from "./admin-token.ts";
import { type DaemonState, daemonStateFile } from "./daemon-state.ts";
import { sendError } from "./errors.ts";
import { accessPolicy, bindingProblem, frontDoor } from "./front.ts";
import { type LockHolder, takeHomeLock } from "./home-lock.ts";
import { ModelProxy } from "./proxy.ts";
import { ledgerLaunchEvents, Recorder } from "./recorder.ts";
import { errorDialectOf } from "./routes.ts";

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Listens on host:port; a request whose handling throws gets a 500 (or a cut stream), never a crash. */
function listen(
  handle: Handler,
  host: string,
  port: number,
  logLine: (text: string) => void,
): Promise<Server> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      logLine(`error handling ${req.method} ${req.url?.slice(0, 200)}: ${error.stack ?? error.message}`);
      // A bug in rig answers in the caller's dialect too, and the daemon keeps serving.
      sendError(res, errorDialectOf(undefined, req.url ?? "/"), 500, error.message);
    });
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new Error(`gateway port ${port} is taken by ${describeHolder(port)}; stop it or set gateway.port`)
          : error,
      );
    });
    server.listen({ host, port }, () => resolve(server));
  });
}

/** What a second daemon for the same home says, touching nothing. */
function runningElsewhere(holder: LockHolder, stateDir: string): string {
  let where = "";
  try {
    const state = JSON.parse(readFileSync(daemonStateFile(stateDir), "utf8")) as DaemonState;
    if (state.pid === holder.pid) where = ` on http://${state.host}:${state.port}`;
  } catch {}
  const who = holder.pid ? `pid ${holder.pid}${where}` : "another daemon starting right now";
  return `a rig daemon already runs for this home (${who}); use it, or stop it with \`rig gateway stop\``;
}

/**
 * A problem as gateway.log says it: the file by its absolute path, since the log is read from any
 * folder and the daemon's own working folder is whichever one started it.
 */
function problemForLog({ where, ...problem }: Problem): string {
  const at = where ? `${where.file}${where.line ? `:${where.line}:${where.col}` : ""}: ` : "";
  return `${at}${formatProblem(problem)}`;
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
  let refused = false;
  const reload = async () => {
    try {
      const next = await loadConfig({ home: config.home.root, positions: true });
      // A file put back as it was after a refused edit changes nothing, but whoever reads the log after
      // "config not reloaded" needs to know it loads again.
      if (refused && next.hash === lastText) logLine(`config loads again; unchanged (${next.hash})`);
      refused = false;
      if (next.hash === lastText) return;
      lastText = next.hash;
      apply(next);
    } catch (error) {
      refused = true;
      if (error instanceof ConfigError) {
        for (const problem of error.problems) logLine(`config not reloaded: ${problemForLog(problem)}`);
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

/** The long-lived process: owns the supervisor and the ledger, serves the gateway port. Resolves when it has stopped. */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  // Made before the config is read, so the first launch already takes it (the config carries it).
  const { state } = homePaths(options.home);
  mkdirSync(state, { recursive: true });
  ensureHomeSecret(state, RUNTIME_KEY_FILE);
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
  const problem = bindingProblem(config);
  if (problem) throw new Error(problem);
  const lock = takeHomeLock(home.state);
  if ("holder" in lock) throw new Error(runningElsewhere(lock.holder, home.state));
  const ledger = new Ledger(join(home.state, "rig.db"));
  // What the daemon serves: rig.yaml as read, with the variants of `rig bench --vary` runs laid over it.
  const variants = new VariantProfiles();
  let fromFile = config;
  let current = config;
  writeFailures.reportTo(logLine);
  // stdout and stderr are gateway.log too: a failed write there (a Node warning on a full disk) is an
  // 'error' event that, unheard, would end the daemon and every server with it.
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", (error) => writeFailures.record("log", error));
  const supervisor = new Supervisor(
    config,
    ledgerLaunchEvents(ledger, () => current),
  );
  const recorder = new Recorder(writeLog, ledger);
  const peers = new PeerRegistry(() => current.peers);
  peers.start();
  const proxy = new ModelProxy({ config: () => current, supervisor, recorder, peers, log: logLine });
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
    peers,
  };

  const adminToken = ensureAdminToken(home.state);
  let policy = accessPolicy(config, adminToken);
  const bench: BenchDesk = {
    async vary(server, specs) {
      const names = variants.set(server, specs);
      current = variants.applyTo(fromFile);
      await supervisor.reload(current);
      return names;
    },
    record: (run) => writeFailures.guard("ledger", () => ledger.recordBench(run)),
  };
  const handle = frontDoor({
    bench,
    config: () => current,
    policy: () => policy,
    supervisor,
    proxy,
    recorder,
    info,
  });
  let bound = { host: config.gateway.host, port: config.gateway.port };
  let server = await listen(handle, bound.host, bound.port, logLine);
  const writeState = () => {
    const state: DaemonState = {
      pid: process.pid,
      start_time: processStartTime(process.pid),
      ...bound,
      version: options.version,
      started_at: info.startedAt,
    };
    writeFileSync(stateFile, JSON.stringify(state, null, 2));
  };
  writeState();
  logLine(`gateway listening on http://${bound.host}:${bound.port} (pid ${process.pid}, home ${home.root})`);
  /** A changed gateway.host or port moves the daemon: the new address first, then the old one closes. */
  const rebind = async (next: Config) => {
    const { host, port } = next.gateway;
    if (host === bound.host && port === bound.port) return;
    const problem = bindingProblem(next);
    if (problem) return logLine(`still on ${bound.host}:${bound.port}: ${problem}`);
    try {
      const moved = await listen(handle, host, port, logLine);
      server.close();
      server = moved;
      bound = { host, port };
      writeState();
      logLine(`gateway moved to http://${host}:${port}`);
    } catch (error) {
      logLine(`still on ${bound.host}:${bound.port}: ${(error as Error).message}`);
    }
  };

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
      peers.close();
      await supervisor.close("gateway stopped");
      await proxy.close();
      recorder.flush();
      rmSync(stateFile, { force: true });
      ledger.close();
      lock.release();
      logLine("gateway stopped");
      log.close();
      resolveStopped();
    })();
    return stopping;
  };
  const watcher = watchConfig(
    config,
    (next) => {
      fromFile = next;
      current = variants.applyTo(next);
      policy = accessPolicy(next, adminToken);
      void rebind(next);
      void supervisor.reload(current);
      void peers.refresh();
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
