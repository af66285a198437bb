import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { type Agent, type Config, findServer, peerModel, type Server } from "../config/loader.ts";
import { geminiModelList } from "../dialects/gemini/mapping.ts";
import type { RequestRecord } from "../ledger/ledger.ts";
import { fallbackChain } from "../peers/hop.ts";
import {
  gatewaysPassed,
  PEER_LISTING_HEADER,
  type PeerKind,
  peerAuthHeaders,
  peerBaseUrl,
  RIG_GATEWAY_HEADER,
  VIA_HEADER,
} from "../peers/registry.ts";
import type { LastExit, ServerStatus } from "../supervisor/status.ts";
import { sendError } from "./errors.ts";
import {
  type Exchange,
  type ExchangeFacts,
  failExchange,
  fallbackNotice,
  openStream,
  startingNotice,
} from "./exchange.ts";
import { BodyTooLarge, readBody, sendJson } from "./http.ts";
import {
  type ExchangePlan,
  type ExchangeRequest,
  parseJsonBody,
  planExchange,
  requestedName,
} from "./plan.ts";
import { respondForced } from "./respond/forced.ts";
import { respondNative } from "./respond/native.ts";
import { respondTranslated } from "./respond/translated.ts";
import { sendEvents } from "./respond/whole.ts";
import { matchRoute, type Route } from "./routes.ts";
import { TargetUnavailable, Upstream } from "./upstream.ts";

const STARTING_COMMENT_MS = 5000;

/** The servers as the gateway needs them: leased for each request, started on demand. */
export interface ServerLeases {
  /** Resolves once the server is ready and counts one request in flight; rejects with an Error that may carry the log's last lines as `logTail`. */
  /** `headers`: what every request to the server carries (its runtime's key). */
  lease(name: string): Promise<{ baseUrl: string; model: string; headers?: Record<string, string> }>;
  release(name: string): void;
  endpoint(name: string): { baseUrl: string } | undefined;
  status(): ServerStatus[];
  /**
   * How the server's process ended, when it ended after `since` (ms since the epoch): what a client
   * whose upstream dropped is told. Absent where no process runs behind the leases.
   */
  lastExit?(name: string, since: number): Promise<LastExit | undefined>;
}

/** What the proxy asks of the peer registry (src/peers/registry.ts). */
export interface PeerView {
  /** Lists the peer again when it never listed `model` (bounded by the registry's listing timeout). */
  ensureListed(peer: string, model: string): Promise<void>;
  kindOf(peer: string): PeerKind | undefined;
  reachableModels(): Array<{ peer: string; model: string }>;
}

const NO_PEERS: PeerView = {
  ensureListed: async () => {},
  kindOf: () => undefined,
  reachableModels: () => [],
};

export interface ProxyDeps {
  config(): Config;
  supervisor: ServerLeases;
  recorder: { record(entry: RequestRecord): void };
  peers?: PeerView;
  /** A line for gateway.log (a fallback taken). */
  log?(line: string): void;
}

/** A planned exchange that goes to a server or a peer (not answered by rig itself). */
type UpstreamPlan = Extract<ExchangePlan, { kind: "native" | "translated" | "forced" }>;

/** The proxy layer: `/v1/...` and `/agents/<agent>/v1/...` routed by model or agent, started on demand. */
export class ModelProxy {
  private readonly upstream: Upstream;
  private readonly peers: PeerView;

  /** This gateway among others, in `x-rig-via`: random per daemon, so two homes on a host differ. */
  private readonly id = randomBytes(6).toString("hex");

  constructor(private readonly deps: ProxyDeps) {
    this.peers = deps.peers ?? NO_PEERS;
    this.upstream = new Upstream();
  }

  close(): Promise<void> {
    return this.upstream.close();
  }

  /** Handles the request if the path is a model route; returns false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const config = this.deps.config();
    const match = matchRoute(req.method ?? "GET", path, config);
    if (match.kind === "none") return false;
    if (match.kind === "refuse") sendError(res, match.dialect, match.status, match.message);
    else if (match.kind === "models")
      this.listModels(
        res,
        config,
        match.agent,
        match.listing,
        req.headers[PEER_LISTING_HEADER] !== undefined,
      );
    else
      await this.exchange(
        this.openExchange(req, res, match.route, match.dialect, match.agent, path),
        config,
        match.agent,
      );
    return true;
  }

  /** The peer's model an agent is pinned to, listed under the id the agent's harness sends. */
  private agentPeerModel(config: Config, agent: Agent): Array<{ peer: string; model: string; id: string }> {
    const onPeer = peerModel(config, agent.server);
    return onPeer
      ? [{ peer: onPeer.peer.name, model: onPeer.model, id: agent.model_id ?? agent.server }]
      : [];
  }

  private listModels(
    res: ServerResponse,
    config: Config,
    agent: Agent | undefined,
    listing: "gemini" | undefined,
    forPeer: boolean,
  ): void {
    const states = new Map(this.deps.supervisor.status().map((status) => [status.name, status.state]));
    const pinned = agent && findServer(config, agent.server);
    const servers = agent ? (pinned ? [pinned] : []) : Object.values(config.servers);
    const local = servers.map((server) => ({
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
    // A gateway listing for its peer gets this gateway's own servers only: one hop, never a loop.
    const onPeers: Array<{ peer: string; model: string; id?: string }> =
      forPeer || pinned ? [] : agent ? this.agentPeerModel(config, agent) : this.peers.reachableModels();
    const remote = onPeers.map(({ peer, model, id }) => ({
      id: id ?? `${peer}/${model}`,
      object: "model",
      created: 0,
      owned_by: peer,
      server: `${peer}/${model}`,
      runtime: "peer",
      aliases: [],
      context: null,
      state: "peer",
    }));
    const data = [...local, ...remote];
    sendJson(res, 200, listing === "gemini" ? geminiModelList(data) : { object: "list", data }, {
      [RIG_GATEWAY_HEADER]: "1",
    });
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
    const passed = gatewaysPassed(ex.req.headers[VIA_HEADER]);
    if (passed.includes(this.id))
      return failExchange(
        ex,
        508,
        `this request came back to the gateway it passed through before (via ${passed.length} gateways): a fallback: or a peer's model leads back here; check the fallback lists of the servers on each peer`,
      );
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
    const request: ExchangeRequest = {
      route: ex.route,
      body: parsed.body,
      agent,
      config,
      peerKind: (peer) => this.peers.kindOf(peer),
    };
    const plan = await this.plan(request);
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
    const chain = fallbackChain(server);
    const unavailable: string[] = [];
    for (const [index, name] of chain.entries()) {
      const last = index === chain.length - 1;
      const next = index === 0 ? plan : await this.plan({ ...request, target: name });
      if (next.kind !== "native" && next.kind !== "translated" && next.kind !== "forced") {
        // A fallback that cannot take this request at all (a dialect it does not speak) is passed over.
        unavailable.push(`${name}: ${next.kind === "refuse" ? next.message : "answered by rig"}`);
        continue;
      }
      const outcome = await this.attempt(ex, next, !last);
      if (outcome === "answered") return;
      unavailable.push(`${name}: ${outcome.unavailable}`);
      this.deps.log?.(
        `${name} could not take a ${ex.route.name} request (${outcome.unavailable}); trying ${chain[index + 1]}`,
      );
      if (ex.res.headersSent && !ex.res.writableEnded)
        ex.res.write(fallbackNotice(ex.route, name, outcome.unavailable, chain[index + 1]!));
      if (ex.abort.signal.aborted)
        return ex.record(499, { server: name, stream: plan.stream, error: "client disconnected" });
    }
    // Only reached when the last target was passed over (every other failure is answered by it).
    failExchange(ex, 503, `no server could take the request: ${unavailable.join("; ")}`, {
      facts: { server: chain.at(-1), stream: plan.stream },
    });
  }

  /** Plans the request, listing the peer first when it names a peer's model not listed yet. */
  private async plan(request: ExchangeRequest): Promise<ExchangePlan> {
    const name = requestedName(request);
    const onPeer = typeof name === "string" ? peerModel(request.config, name) : undefined;
    if (onPeer) await this.peers.ensureListed(onPeer.peer.name, onPeer.model);
    return planExchange(request);
  }

  /**
   * One target of the chain answers, or (when `fallible`, before any byte of its answer) says why it
   * cannot: it failed to start, could not be reached, or answered 503.
   */
  private async attempt(
    ex: Exchange,
    plan: UpstreamPlan,
    fallible: boolean,
  ): Promise<"answered" | { unavailable: string }> {
    const { server } = plan;
    const peer = plan.kind === "forced" ? undefined : plan.peer;
    const endpoint = peer
      ? { baseUrl: peerBaseUrl(peer.peer), model: peer.model }
      : await this.lease(ex, server, plan.stream, fallible);
    if (!endpoint) return "answered";
    if ("unavailable" in endpoint) return endpoint;
    // A peer's key goes with the requests to that peer, a runtime's with those to its server, and
    // neither to anything else.
    const via = { [VIA_HEADER]: [...gatewaysPassed(ex.req.headers[VIA_HEADER]), this.id].join(", ") };
    const headers = peer
      ? { ...peerAuthHeaders(peer.peer), ...via }
      : ("headers" in endpoint && endpoint.headers) || {};
    const upstream = this.upstream.view({ fallible, headers });
    try {
      if (ex.abort.signal.aborted) {
        ex.record(499, { server: server.name, stream: plan.stream, error: "client disconnected" });
        return "answered";
      }
      const lastExit = async (since: number) =>
        peer ? undefined : this.deps.supervisor.lastExit?.(server.name, since);
      const timeoutSetting = peer
        ? `peers.${peer.peer.name}.timeout`
        : `servers.${server.name}.timeout.response`;
      const job = { server, stream: plan.stream, baseUrl: endpoint.baseUrl, lastExit, timeoutSetting };
      const payload = { ...plan.payload, model: endpoint.model };
      if (plan.kind === "forced")
        await respondForced(ex, upstream, {
          ...job,
          payload,
          forcer: plan.forcer,
          translation: plan.translation,
        });
      else if (plan.kind === "translated")
        await respondTranslated(ex, upstream, { ...job, payload, translation: plan.translation });
      else await respondNative(ex, upstream, { ...job, payload, upstreamPath: plan.upstreamPath });
      return "answered";
    } catch (error) {
      if (error instanceof TargetUnavailable) return { unavailable: error.message };
      throw error;
    } finally {
      if (!peer) this.deps.supervisor.release(server.name);
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
    fallible: boolean,
  ): Promise<
    { baseUrl: string; model: string; headers?: Record<string, string> } | { unavailable: string } | undefined
  > {
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
      if (fallible) return { unavailable: `failed to start: ${(error as Error).message}` };
      failExchange(ex, 503, message, { facts: { server: server.name, stream } });
      return undefined;
    } finally {
      clearTimeout(startingTimer);
    }
  }
}
