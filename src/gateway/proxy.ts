import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { type Agent, type Config, findServer, type Server } from "../config/loader.ts";
import { geminiModelList } from "../dialects/gemini/mapping.ts";
import type { RequestRecord } from "../ledger/ledger.ts";
import type { LastExit, ServerStatus } from "../supervisor/status.ts";
import { sendError } from "./errors.ts";
import { type Exchange, type ExchangeFacts, failExchange, openStream, startingNotice } from "./exchange.ts";
import { BodyTooLarge, readBody, sendJson } from "./http.ts";
import { parseJsonBody, planExchange } from "./plan.ts";
import { respondForced } from "./respond/forced.ts";
import { respondNative } from "./respond/native.ts";
import { respondTranslated } from "./respond/translated.ts";
import { sendEvents } from "./respond/whole.ts";
import { matchRoute, type Route } from "./routes.ts";
import { Upstream } from "./upstream.ts";

const STARTING_COMMENT_MS = 5000;

/** The servers as the gateway needs them: leased for each request, started on demand. */
export interface ServerLeases {
  /** Resolves once the server is ready and counts one request in flight; rejects with an Error that may carry the log's last lines as `logTail`. */
  lease(name: string): Promise<{ baseUrl: string; model: string }>;
  release(name: string): void;
  endpoint(name: string): { baseUrl: string } | undefined;
  status(): ServerStatus[];
  /**
   * How the server's process ended, when it ended after `since` (ms since the epoch): what a client
   * whose upstream dropped is told. Absent where no process runs behind the leases.
   */
  lastExit?(name: string, since: number): Promise<LastExit | undefined>;
}

export interface ProxyDeps {
  config(): Config;
  supervisor: ServerLeases;
  recorder: { record(entry: RequestRecord): void };
}

/** The proxy layer: `/v1/...` and `/agents/<agent>/v1/...` routed by model or agent, started on demand. */
export class ModelProxy {
  private readonly upstream = new Upstream();

  constructor(private readonly deps: ProxyDeps) {}

  close(): Promise<void> {
    return this.upstream.close();
  }

  /** Handles the request if the path is a model route; returns false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const config = this.deps.config();
    const match = matchRoute(req.method ?? "GET", path, config);
    if (match.kind === "none") return false;
    if (match.kind === "refuse") sendError(res, match.dialect, match.status, match.message);
    else if (match.kind === "models") this.listModels(res, config, match.agent, match.listing);
    else
      await this.exchange(
        this.openExchange(req, res, match.route, match.dialect, match.agent, path),
        config,
        match.agent,
      );
    return true;
  }

  private listModels(
    res: ServerResponse,
    config: Config,
    agent: Agent | undefined,
    listing?: "gemini",
  ): void {
    const states = new Map(this.deps.supervisor.status().map((status) => [status.name, status.state]));
    const servers = agent ? [findServer(config, agent.server)!] : Object.values(config.servers);
    const data = servers.map((server) => ({
      id: agent ? (agent.model_id ?? server.name) : server.name,
      object: "model",
      created: 0,
      owned_by: "rig",
      server: server.name,
      runtime: server.runtime,
      aliases: server.aliases,
      context: server.context ?? null,
      state: states.get(server.name) ?? "stopped",
    }));
    sendJson(res, 200, listing === "gemini" ? geminiModelList(data) : { object: "list", data });
  }

  private openExchange(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    dialect: Exchange["dialect"],
    agent: Agent | undefined,
    path: string,
  ): Exchange {
    const started = performance.now();
    const startedAt = Date.now();
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort(new Error("client disconnected"));
    });
    const record = (status: number, facts: ExchangeFacts) =>
      this.deps.recorder.record({
        method: req.method ?? "POST",
        path,
        route: route.name,
        agent: agent?.name,
        status,
        stream: facts.stream ?? false,
        startedAt,
        durationMs: performance.now() - started,
        ...facts,
      });
    return { req, res, route, dialect, abort, record };
  }

  private async exchange(ex: Exchange, config: Config, agent: Agent | undefined): Promise<void> {
    let raw: Buffer;
    try {
      raw = await readBody(ex.req, config.gateway.bodyLimitBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      return failExchange(
        ex,
        413,
        `${error.message}; raise gateway.body_limit in rig.yaml if this is expected`,
      );
    }
    const parsed = parseJsonBody(raw);
    if ("error" in parsed) return failExchange(ex, 400, parsed.error);
    const plan = planExchange({ route: ex.route, body: parsed.body, agent, config });
    if (plan.kind === "refuse")
      return failExchange(ex, plan.status, plan.message, { facts: { server: plan.server?.name } });
    const server = plan.server;
    if (plan.kind === "local") {
      sendJson(ex.res, 200, plan.body);
      return ex.record(200, { server: server.name });
    }
    if (plan.kind === "local-events") {
      sendEvents(ex, server.name, plan.events, plan.stream, plan.translation);
      return ex.record(200, { server: server.name, stream: plan.stream });
    }
    const endpoint = await this.lease(ex, server, plan.stream);
    if (!endpoint) return;
    try {
      if (ex.abort.signal.aborted)
        return ex.record(499, { server: server.name, stream: plan.stream, error: "client disconnected" });
      const lastExit = async (since: number) => this.deps.supervisor.lastExit?.(server.name, since);
      const job = { server, stream: plan.stream, baseUrl: endpoint.baseUrl, lastExit };
      const payload = { ...plan.payload, model: endpoint.model };
      if (plan.kind === "forced")
        await respondForced(ex, this.upstream, {
          ...job,
          payload,
          forcer: plan.forcer,
          translation: plan.translation,
        });
      else if (plan.kind === "translated")
        await respondTranslated(ex, this.upstream, { ...job, payload, translation: plan.translation });
      else await respondNative(ex, this.upstream, { ...job, payload, upstreamPath: plan.upstreamPath });
    } finally {
      this.deps.supervisor.release(server.name);
    }
  }

  /**
   * Leases the server, starting it if needed; a streaming client receives SSE comments while it
   * starts, so neither it nor a proxy in between times out. Undefined when the start failed (the
   * client has been answered).
   */
  private async lease(
    ex: Exchange,
    server: Server,
    stream: boolean,
  ): Promise<{ baseUrl: string; model: string } | undefined> {
    const { supervisor } = this.deps;
    let startingTimer: NodeJS.Timeout | undefined;
    if (stream && !supervisor.endpoint(server.name)) {
      const tick = () => {
        openStream(ex.res, server.name);
        ex.res.write(startingNotice(ex.route, server.name));
        startingTimer = setTimeout(tick, STARTING_COMMENT_MS);
      };
      startingTimer = setTimeout(tick, 1000);
    }
    try {
      return await supervisor.lease(server.name);
    } catch (error) {
      const logTail = (error as { logTail?: string[] }).logTail ?? [];
      const tail = logTail.length ? `\nlast log lines:\n${logTail.slice(-10).join("\n")}` : "";
      const message = `server ${server.name} failed to start: ${(error as Error).message}${tail}`;
      failExchange(ex, 503, message, { facts: { server: server.name, stream } });
      return undefined;
    } finally {
      clearTimeout(startingTimer);
    }
  }
}
