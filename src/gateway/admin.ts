import type { IncomingMessage, ServerResponse } from "node:http";
import { type VariantSpec, variantSpecsOf } from "../bench/variants.ts";
import type { BenchRecord } from "../ledger/ledger.ts";
import type { PeerStatus } from "../peers/registry.ts";
import { hasProcess } from "../supervisor/status.ts";
import { StartError, type Supervisor } from "../supervisor/supervisor.ts";
import { readBody, sendJson } from "./http.ts";
import type { Recorder } from "./recorder.ts";
import { decodedName } from "./routes.ts";

export interface DaemonInfo {
  pid: number;
  version: string;
  home: string;
  startedAt: string;
  shutdown(): void;
  /** The daemon's peers (src/peers/registry.ts): what they list, whether they answer, how fast. */
  peers: { status(): PeerStatus[]; refresh(): Promise<void> };
}

/** What `rig bench` asks of the daemon: variant profiles laid over rig.yaml, and its runs kept in the ledger. */
export interface BenchDesk {
  /** Replaces the server's variant set (an empty one removes it); resolves with the variants' names. */
  vary(server: string, variants: VariantSpec[]): Promise<string[]>;
  /** The run's ledger id, or undefined when the ledger could not take it. */
  record(run: BenchRecord): number | undefined;
}

export interface AdminDeps {
  supervisor: Supervisor;
  recorder: Recorder;
  info: DaemonInfo;
  bench: BenchDesk;
}

/** `/rig/v1/...`: the JSON API the CLI and rig's page drive the daemon with. */
export async function handleAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  deps: AdminDeps,
): Promise<void> {
  const { supervisor, info } = deps;
  const method = req.method ?? "GET";
  if (method === "GET" && path === "/rig/v1/status") {
    return sendJson(res, 200, {
      pid: info.pid,
      version: info.version,
      home: info.home,
      started_at: info.startedAt,
      config_hash: supervisor.currentConfig.hash,
      servers: supervisor.status(),
      peers: info.peers.status(),
    });
  }
  // `?refresh=1` lists every peer first (each bounded by the registry's listing timeout): what `rig ps`
  // shows is then measured now, not up to a minute ago.
  if (method === "GET" && path === "/rig/v1/peers") {
    if (query.get("refresh") === "1") await info.peers.refresh();
    return sendJson(res, 200, { peers: info.peers.status() });
  }
  if (method === "POST" && path === "/rig/v1/shutdown") {
    sendJson(res, 200, { ok: true });
    info.shutdown();
    return;
  }
  if (method === "POST" && path === "/rig/v1/stop-all") {
    // What had a process when the stop was asked for: `rig stop` reports only what it stopped.
    const stopped = supervisor
      .status()
      .filter(hasProcess)
      .map((server) => server.name);
    await supervisor.stopAll();
    return sendJson(res, 200, { ok: true, stopped, servers: supervisor.status() });
  }
  if (method === "POST" && path.startsWith("/rig/v1/bench/")) return handleBench(req, res, path, deps);
  const serverRoute = /^\/rig\/v1\/servers\/([^/]+)\/(start|stop|restart|logs)$/.exec(path);
  if (serverRoute) {
    const name = decodedName(serverRoute[1]!);
    if (typeof name !== "string") return sendJson(res, 400, { error: name.message });
    const action = serverRoute[2];
    if (!Object.hasOwn(supervisor.currentConfig.servers, name)) {
      return sendJson(res, 404, {
        error: `no server named \`${name}\``,
        servers: Object.keys(supervisor.currentConfig.servers),
      });
    }
    if (method === "POST" && action === "start") return streamStart(res, name, supervisor);
    if (method === "POST" && action === "restart") {
      await supervisor.stop(name, "restarted");
      return streamStart(res, name, supervisor);
    }
    if (method === "POST" && action === "stop") {
      const wasRunning = supervisor.status().some((server) => server.name === name && hasProcess(server));
      await supervisor.stop(name, "stopped");
      return sendJson(res, 200, { ok: true, was_running: wasRunning });
    }
    if (method === "GET" && action === "logs")
      return sendJson(res, 200, { lines: supervisor.tail(name, 50) });
  }
  // The page's own routes load with the page, never with the CLI's.
  const { handlePageApi } = await import("./page/api.ts");
  if (await handlePageApi(req, res, path, query, { ...deps, version: info.version })) return;
  sendJson(res, 404, { error: `no admin route ${method} ${path}` });
}

/** `rig bench`'s routes: POST /rig/v1/bench/variants {server, variants} and /rig/v1/bench/runs {server, …}. */
async function handleBench(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  deps: AdminDeps,
): Promise<void> {
  let body: { server?: unknown };
  try {
    body = JSON.parse((await readBody(req, 16 << 20)).toString("utf8"));
  } catch (error) {
    return sendJson(res, 400, { error: `the body is not JSON: ${(error as Error).message}` });
  }
  const { server } = body ?? {};
  // Variants are made of the profiles in rig.yaml, never of other variants (`~` is theirs).
  if (
    typeof server !== "string" ||
    server.includes("~") ||
    !Object.hasOwn(deps.supervisor.currentConfig.servers, server)
  )
    return sendJson(res, 404, { error: `no server named \`${String(server)}\`` });
  if (path === "/rig/v1/bench/variants") {
    const specs = variantSpecsOf(body);
    if ("error" in specs) return sendJson(res, 400, specs);
    return sendJson(res, 200, { servers: await deps.bench.vary(server, specs) });
  }
  if (path === "/rig/v1/bench/runs")
    return sendJson(res, 200, { id: deps.bench.record(body as BenchRecord) ?? null });
  sendJson(res, 404, { error: `no admin route POST ${path}` });
}

/** Starts a server and streams NDJSON progress lines until it is ready or failed. */
async function streamStart(res: ServerResponse, name: string, supervisor: Supervisor): Promise<void> {
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  const write = (value: unknown) => res.write(`${JSON.stringify(value)}\n`);
  const onProgress = (server: string, elapsedMs: number, line: string | undefined) => {
    if (server === name) write({ event: "progress", elapsed_ms: elapsedMs, line: line ?? null });
  };
  supervisor.on("progress", onProgress);
  try {
    await supervisor.ensureReady(name);
    const status = supervisor.status().find((server) => server.name === name);
    write({ event: "ready", server: status });
  } catch (error) {
    write({
      event: "failed",
      error: (error as Error).message,
      tail: error instanceof StartError ? error.logTail : [],
    });
  } finally {
    supervisor.off("progress", onProgress);
    res.end();
  }
}
