import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { StringDecoder } from "node:string_decoder";
import { Agent, errors as undiciErrors } from "undici";
import { type Agent as AgentProfile, type Config, findServer, type Server } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { fixNativeMessages } from "../dialects/anthropic.ts";
import { ChatEventBuilder, chatStreamOf, responseEvents } from "../dialects/chat.ts";
import { TRANSLATORS } from "../dialects/index.ts";
import { isWarmup } from "../dialects/responses.ts";
import { SseParser } from "../dialects/sse.ts";
import { estimateTokens } from "../dialects/tools.ts";
import type { ChatEvent, TranslationContext, Translator } from "../dialects/types.ts";
import { runtimeFor } from "../runtimes/index.ts";
import type { Dialect, ToolChoiceForcer } from "../runtimes/types.ts";
import { StartError, type Supervisor } from "../supervisor/supervisor.ts";
import { type ErrorDialect, errorBody, sendError, sseError } from "./errors.ts";
import { BodyTooLarge, readBody, sendJson } from "./http.ts";
import type { Recorder } from "./recorder.ts";
import { applyRules } from "./rules.ts";
import { type Usage, usageFromSse, usageOf } from "./usage.ts";

type Json = Record<string, unknown>;

interface Route {
  /** The upstream path, e.g. /v1/chat/completions. */
  path: string;
  dialect: Dialect;
  name: string;
}

const ROUTES: Record<string, Route> = {
  "/v1/chat/completions": { path: "/v1/chat/completions", dialect: "chat", name: "chat" },
  "/v1/completions": { path: "/v1/completions", dialect: "completions", name: "completions" },
  "/v1/embeddings": { path: "/v1/embeddings", dialect: "embeddings", name: "embeddings" },
  "/v1/messages": { path: "/v1/messages", dialect: "messages", name: "messages" },
  "/v1/messages/count_tokens": {
    path: "/v1/messages/count_tokens",
    dialect: "messages",
    name: "count_tokens",
  },
  "/v1/responses": { path: "/v1/responses", dialect: "responses", name: "responses" },
};

/** The last event of a stream in each dialect: a client may hang up once it has it. */
const STREAM_END = /data: \[DONE\]|"type":\s*"(response\.completed|message_stop)"/;
const FORWARDED_HEADERS = ["accept", "anthropic-version", "anthropic-beta", "user-agent", "openai-beta"];
const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  connection: "keep-alive",
};
const STARTING_COMMENT_MS = 5000;
const HEAD_BYTES = 4096;
const TAIL_BYTES = 16384;

function errorDialectOf(route: Route | undefined, path: string): ErrorDialect {
  return route?.dialect === "messages" || path.includes("/messages") ? "anthropic" : "openai";
}

function isRetriable(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE" || code === "ECONNREFUSED";
}

interface PipeJob {
  server: Server;
  route: Route;
  payload: Json;
  stream: boolean;
  baseUrl: string;
  abort: AbortController;
  dialect: ErrorDialect;
  record: (
    status: number,
    extra: { server?: string; stream?: boolean; ttfbMs?: number; usage?: Usage; error?: string },
  ) => void;
}

/** `count_tokens` for a runtime that cannot count: an estimate from the request's size. */
function anthropicCountTokens(body: Json): { input_tokens: number } {
  return {
    input_tokens: estimateTokens({ system: body.system, messages: body.messages, tools: body.tools }),
  };
}

export interface ProxyDeps {
  config(): Config;
  supervisor: Supervisor;
  recorder: Recorder;
}

/** The proxy layer: `/v1/...` and `/agents/<agent>/v1/...` routed by model or agent, started on demand. */
export class ModelProxy {
  private readonly dispatcher = new Agent({
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 30_000,
    connect: { timeout: 10_000 },
  });

  constructor(private readonly deps: ProxyDeps) {}

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  /** Handles the request if the path is a model route; returns false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    let agent: AgentProfile | undefined;
    let rest = path;
    const agentMatch = /^\/agents\/([^/]+)(\/.*)?$/.exec(path);
    const config = this.deps.config();
    if (agentMatch) {
      const name = decodeURIComponent(agentMatch[1]!);
      rest = agentMatch[2] ?? "/";
      agent = config.agents[name];
      if (!agent) {
        sendError(
          res,
          errorDialectOf(ROUTES[rest], rest),
          404,
          `no agent named \`${name}\`${didYouMean(name, Object.keys(config.agents))}; agents: ${Object.keys(config.agents).join(", ") || "none"}`,
        );
        return true;
      }
    }
    if (!rest.startsWith("/v1/") && rest !== "/v1") {
      if (!agentMatch) return false;
      sendError(
        res,
        "openai",
        404,
        `no route ${req.method} ${path}: agent routes live under /agents/<agent>/v1/`,
      );
      return true;
    }
    if (rest === "/v1/models" && req.method === "GET") {
      this.listModels(res, config, agent);
      return true;
    }
    const route = ROUTES[rest];
    if (!route || req.method !== "POST") {
      sendError(
        res,
        errorDialectOf(route, rest),
        route ? 405 : 404,
        route
          ? `${rest} takes POST`
          : `no route ${req.method} ${rest}; rig serves ${Object.keys(ROUTES).join(", ")} and GET /v1/models`,
      );
      return true;
    }
    await this.forward(req, res, config, route, agent, path);
    return true;
  }

  private listModels(res: ServerResponse, config: Config, agent: AgentProfile | undefined): void {
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
    sendJson(res, 200, { object: "list", data });
  }

  private async forward(
    req: IncomingMessage,
    res: ServerResponse,
    config: Config,
    route: Route,
    agent: AgentProfile | undefined,
    path: string,
  ): Promise<void> {
    const started = performance.now();
    const startedAt = Date.now();
    const dialect = errorDialectOf(route, path);
    const record = (
      status: number,
      extra: { server?: string; stream?: boolean; ttfbMs?: number; usage?: Usage; error?: string },
    ) =>
      this.deps.recorder.record({
        method: req.method ?? "POST",
        path,
        route: route.name,
        agent: agent?.name,
        status,
        stream: extra.stream ?? false,
        startedAt,
        durationMs: performance.now() - started,
        ...extra,
      });
    const refuse = (status: number, message: string, server?: string) => {
      sendError(res, dialect, status, message);
      record(status, { server, error: message });
    };

    let raw: Buffer;
    try {
      raw = await readBody(req, config.gateway.bodyLimitBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge)
        return refuse(413, `${error.message}; raise gateway.body_limit in rig.yaml if this is expected`);
      throw error;
    }
    let body: Json;
    try {
      body = JSON.parse(raw.toString("utf8"));
      if (typeof body !== "object" || body === null || Array.isArray(body))
        throw new Error("the body must be a JSON object");
    } catch (error) {
      return refuse(400, `invalid JSON body: ${(error as Error).message}`);
    }

    let server: Server | undefined;
    if (agent) server = findServer(config, agent.server);
    else {
      const model = body.model;
      if (typeof model !== "string" || !model) {
        return refuse(
          400,
          `the request has no "model"; use one of: ${Object.keys(config.servers).join(", ")}`,
        );
      }
      server = findServer(config, model);
      if (!server) {
        const names = Object.values(config.servers).flatMap((candidate) => [
          candidate.name,
          ...candidate.aliases,
        ]);
        return refuse(
          404,
          `unknown model \`${model}\`${didYouMean(model, names)}; this gateway serves: ${names.join(", ") || "nothing yet (add a server to rig.yaml)"}`,
        );
      }
    }
    if (!server) return refuse(500, `agent ${agent?.name} points at a server that does not exist`);

    const runtime = runtimeFor(server.runtime);
    const speaks = runtime.dialects.includes(route.dialect);
    // `always` translates what rig can translate (Messages, Responses); Chat, completions and
    // embeddings are what translation targets, so they pass through.
    const dialectTranslator = TRANSLATORS[route.dialect];
    let passthrough =
      server.translate === "never" || (speaks && (server.translate !== "always" || !dialectTranslator));
    // A tool call the client requires is enforced by rig where the runtime's own endpoint would not
    // (llama.cpp): under `auto`, such a request goes through Chat even when the dialect is native.
    let probed: ReturnType<Translator["toChat"]> | undefined;
    if (
      passthrough &&
      server.translate === "auto" &&
      body.tool_choice !== undefined &&
      route.name !== "count_tokens" &&
      runtime.forceToolChoice &&
      dialectTranslator
    ) {
      probed = dialectTranslator.toChat(body);
      passthrough = !runtime.forceToolChoice.forces(probed.chat);
    }
    const translator = passthrough ? undefined : dialectTranslator;
    if (!passthrough && route.name === "count_tokens") {
      const counted = anthropicCountTokens(body);
      sendJson(res, 200, counted);
      return record(200, { server: server.name });
    }
    if (!passthrough && !translator) {
      return refuse(
        501,
        `server ${server.name} (${server.runtime}) does not speak ${route.dialect} and rig does not translate it`,
        server.name,
      );
    }
    if (translator?.dialect === "responses" && isWarmup(body)) {
      const { context } = translator.toChat(body);
      if (body.stream === true) {
        const renderer = translator.stream(context);
        res.writeHead(200, { ...SSE_HEADERS, "x-rig-server": server.name });
        res.end(renderer.push([]) + renderer.end());
      } else sendJson(res, 200, translator.respond([{ type: "finish", reason: "stop" }], context));
      return record(200, { server: server.name, stream: body.stream === true });
    }
    const translation = translator ? (probed ?? translator.toChat(body)) : undefined;
    const native = passthrough && route.dialect === "messages" ? fixNativeMessages(body) : body;

    let payload = applyRules(applyRules(translation?.chat ?? native, server.request), agent?.request);
    const stream = payload.stream === true;
    const supervisor = this.deps.supervisor;
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort(new Error("client disconnected"));
    };
    res.on("close", onClose);
    let startingTimer: NodeJS.Timeout | undefined;
    if (stream && !supervisor.endpoint(server.name)) {
      const tick = () => {
        if (!res.headersSent) res.writeHead(200, { ...SSE_HEADERS, "x-rig-server": server!.name });
        res.write(`: rig is starting ${server!.name}\n\n`);
        startingTimer = setTimeout(tick, STARTING_COMMENT_MS);
      };
      startingTimer = setTimeout(tick, 1000);
    }
    let endpoint: { baseUrl: string; model: string };
    try {
      endpoint = await supervisor.lease(server.name);
    } catch (error) {
      res.off("close", onClose);
      const tail =
        error instanceof StartError && error.logTail.length
          ? `\nlast log lines:\n${error.logTail.slice(-10).join("\n")}`
          : "";
      const message = `server ${server.name} failed to start: ${(error as Error).message}${tail}`;
      if (res.headersSent) {
        res.end(sseError(route.dialect === "embeddings" ? "chat" : route.dialect, message));
        record(503, { server: server.name, stream, error: message });
      } else refuse(503, message, server.name);
      return;
    } finally {
      clearTimeout(startingTimer);
    }
    try {
      if (abort.signal.aborted)
        return record(499, { server: server.name, stream, error: "client disconnected" });
      payload = { ...payload, model: endpoint.model };
      const forcer = runtime.forceToolChoice;
      if (forcer && (translator || route.name === "chat") && forcer.forces(payload)) {
        await this.pipeForcedToolCall(
          res,
          { server, route, payload, stream, baseUrl: endpoint.baseUrl, abort, record, dialect },
          forcer,
          translator && translation ? { translator, context: translation.context } : undefined,
        );
        return;
      }
      if (translator && translation) {
        await this.pipeTranslated(
          req,
          res,
          { server, route, payload, stream, baseUrl: endpoint.baseUrl, abort, record, dialect },
          translator,
          translation.context,
        );
        return;
      }
      await this.pipe(req, res, {
        server,
        route,
        payload,
        stream,
        baseUrl: endpoint.baseUrl,
        abort,
        record,
        dialect,
      });
    } finally {
      res.off("close", onClose);
      supervisor.release(server.name);
    }
  }

  /** One upstream exchange relayed byte for byte; resolves with what the ledger records. */
  private relay(
    res: ServerResponse,
    url: URL,
    headers: Record<string, string>,
    body: string,
    server: Server,
    abort: AbortController,
    /** When given, the exchange is the caller's: nothing upstream sends is written to the client. */
    sink?: { start(status: number, isSse: boolean): void; data(chunk: Buffer): boolean },
  ): Promise<{
    status: number;
    ttfbMs?: number;
    isSse: boolean;
    passthrough: boolean;
    text?: string;
    error?: Error;
  }> {
    const sent = performance.now();
    return new Promise((resolve) => {
      let status = 0;
      let isSse = false;
      let ttfbMs: number | undefined;
      // False when the client already holds an SSE stream (keep-alive comments while the server
      // started) and the upstream answered something else: that body becomes an SSE error event.
      let passthrough = true;
      const head: Buffer[] = [];
      let headBytes = 0;
      const tail: Buffer[] = [];
      let tailBytes = 0;
      const collected: Buffer[] = [];
      let collectedBytes = 0;
      const sampled = () =>
        isSse
          ? `${Buffer.concat(head).toString("utf8")}\n${Buffer.concat(tail).toString("utf8")}`
          : Buffer.concat(collected).toString("utf8");
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        abort.signal.removeEventListener("abort", onAbort);
        resolve({ status, ttfbMs, isSse, passthrough, text: status ? sampled() : undefined, error });
      };
      let controller: import("undici").Dispatcher.DispatchController | undefined;
      const onAbort = () => controller?.abort(new Error("client disconnected"));
      abort.signal.addEventListener("abort", onAbort);
      this.dispatcher.dispatch(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: "POST",
          headers,
          body,
          headersTimeout: server.responseTimeoutMs,
          bodyTimeout: server.responseTimeoutMs,
        },
        {
          onRequestStart(started) {
            controller = started;
            if (abort.signal.aborted) started.abort(new Error("client disconnected"));
          },
          onResponseStart(_controller, statusCode, responseHeaders) {
            status = statusCode;
            const contentType = String(responseHeaders["content-type"] ?? "application/json");
            isSse = contentType.includes("text/event-stream");
            if (sink) {
              passthrough = false;
              sink.start(statusCode, isSse);
              return;
            }
            passthrough = !res.headersSent || isSse;
            if (!res.headersSent) {
              res.writeHead(statusCode, {
                "content-type": contentType,
                "cache-control": "no-cache",
                "x-rig-server": server.name,
              });
            }
          },
          onResponseData(dataController, chunk) {
            ttfbMs ??= performance.now() - sent;
            if (sink) {
              if (!sink.data(chunk)) {
                dataController.pause();
                res.once("drain", () => dataController.resume());
              }
              return;
            }
            if (isSse) {
              if (headBytes < HEAD_BYTES) {
                head.push(chunk);
                headBytes += chunk.length;
              } else {
                tail.push(chunk);
                tailBytes += chunk.length;
                while (tail.length > 1 && tailBytes - tail[0]!.length >= TAIL_BYTES)
                  tailBytes -= tail.shift()!.length;
              }
            } else if (collectedBytes < 4 * 1024 * 1024) {
              collected.push(chunk);
              collectedBytes += chunk.length;
            }
            if (passthrough && !res.write(chunk)) {
              dataController.pause();
              res.once("drain", () => dataController.resume());
            }
          },
          onResponseEnd() {
            settle();
          },
          onResponseError(_controller, error) {
            settle(error);
          },
        },
      );
    });
  }

  /** A translated exchange: the client's dialect rendered from the runtime's Chat Completions answer. */
  private async pipeTranslated(
    req: IncomingMessage,
    res: ServerResponse,
    job: PipeJob,
    translator: Translator,
    context: TranslationContext,
  ): Promise<void> {
    const { server, stream, abort, record } = job;
    const headers: Record<string, string> = { "content-type": "application/json" };
    const userAgent = req.headers["user-agent"];
    if (typeof userAgent === "string") headers["user-agent"] = userAgent;
    const url = new URL(`${job.baseUrl}/v1/chat/completions`);
    const builder = new ChatEventBuilder(context, context.thinking);
    const renderer = translator.stream(context);
    const parser = new SseParser();
    const decoder = new StringDecoder("utf8");
    const collected: Buffer[] = [];
    let usage: Usage | undefined;
    let upstreamError: string | undefined;
    let status = 0;
    let streaming = false;
    const track = (events: ChatEvent[]) => {
      for (const event of events) {
        if (event.type === "usage") usage = { prompt: event.input, completion: event.output };
        if (event.type === "error") upstreamError = event.message;
      }
      return events;
    };
    const send = (text: string) => (text ? res.write(text) : true);
    const sink = {
      start(upstreamStatus: number, isSse: boolean) {
        status = upstreamStatus;
        streaming = stream && upstreamStatus === 200 && isSse;
        if (streaming && !res.headersSent)
          res.writeHead(200, { ...SSE_HEADERS, "x-rig-server": server.name });
      },
      data(chunk: Buffer): boolean {
        if (!streaming) {
          collected.push(chunk);
          return true;
        }
        let ok = true;
        for (const event of parser.feed(decoder.write(chunk))) {
          if (event.data === "[DONE]") continue;
          let parsed: Json;
          try {
            parsed = JSON.parse(event.data);
          } catch {
            continue;
          }
          ok = send(renderer.push(track(builder.chunk(parsed)))) && ok;
        }
        return ok;
      },
    };
    let outcome = await this.relay(res, url, headers, JSON.stringify(job.payload), server, abort, sink);
    if (outcome.error && outcome.status === 0 && !abort.signal.aborted && isRetriable(outcome.error)) {
      outcome = await this.relay(res, url, headers, JSON.stringify(job.payload), server, abort, sink);
    }
    const { ttfbMs, error } = outcome;
    if (abort.signal.aborted)
      return record(499, { server: server.name, stream, ttfbMs, error: "client disconnected" });
    const fail = (code: number, message: string, fromGateway: boolean) => {
      if (res.headersSent) res.end(renderer.end(message));
      else if (fromGateway) sendError(res, job.dialect, code, message);
      else sendJson(res, code, errorBody(job.dialect, code, message, false));
      record(code, { server: server.name, stream, ttfbMs, error: message });
    };
    if (error) {
      if (status === 0)
        return fail(502, `server ${server.name} could not be reached: ${error.message}`, true);
      return fail(502, `server ${server.name} stopped mid-response: ${error.message}`, true);
    }
    if (status !== 200) {
      const text = Buffer.concat(collected).toString("utf8");
      let message = text.slice(0, 2000);
      try {
        const parsed = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
        message =
          (typeof parsed.error === "string" ? parsed.error : parsed.error?.message) ??
          parsed.message ??
          message;
      } catch {}
      return fail(status, `server ${server.name}: ${message}`, false);
    }
    if (streaming) {
      const tail = track(builder.end());
      res.end(renderer.push(tail) + renderer.end(upstreamError));
      return record(200, { server: server.name, stream, ttfbMs, usage, error: upstreamError });
    }
    let answer: Json;
    try {
      answer = JSON.parse(Buffer.concat(collected).toString("utf8"));
    } catch {
      return fail(502, `server ${server.name} answered something that is not JSON`, true);
    }
    track(this.sendWhole(res, answer, job, { translator, context }));
    record(200, { server: server.name, stream, ttfbMs, usage });
  }

  /**
   * A whole Chat Completions answer, sent in the client's dialect; a client that asked to stream gets
   * it as one stream. Returns the events it was rendered from.
   */
  private sendWhole(
    res: ServerResponse,
    answer: Json,
    job: PipeJob,
    translation: { translator: Translator; context: TranslationContext } | undefined,
  ): ChatEvent[] {
    const headers = { "x-rig-server": job.server.name };
    if (!translation) {
      if (!job.stream) sendJson(res, 200, answer, headers);
      else {
        if (!res.headersSent) res.writeHead(200, { ...SSE_HEADERS, ...headers });
        res.end(chatStreamOf(answer));
      }
      return [];
    }
    const { translator, context } = translation;
    const events = responseEvents(answer, context, context.thinking);
    if (job.stream) {
      if (!res.headersSent) res.writeHead(200, { ...SSE_HEADERS, ...headers });
      const renderer = translator.stream(context);
      res.end(renderer.push(events) + renderer.end());
    } else sendJson(res, 200, translator.respond(events, context), headers);
    return events;
  }

  /**
   * A Chat request that requires a tool call, on a runtime whose chat endpoint would not enforce it:
   * the prompt from the runtime's template, then generation under a JSON schema of the allowed calls.
   */
  private async pipeForcedToolCall(
    res: ServerResponse,
    job: PipeJob,
    forcer: ToolChoiceForcer,
    translation: { translator: Translator; context: TranslationContext } | undefined,
  ): Promise<void> {
    const { server, stream, record } = job;
    const call = async (request: { path: string; body: Json }) => {
      const url = new URL(job.baseUrl + request.path);
      const reply = await this.dispatcher.request({
        origin: url.origin,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(request.body),
        signal: job.abort.signal,
        headersTimeout: server.responseTimeoutMs,
        bodyTimeout: server.responseTimeoutMs,
      });
      const text = await reply.body.text();
      if (reply.statusCode !== 200)
        throw new Error(
          `server ${server.name} answered ${reply.statusCode} on ${request.path}: ${text.slice(0, 1000)}`,
        );
      return JSON.parse(text) as Json;
    };
    let answer: Json;
    try {
      const templated = await call(forcer.templateRequest(job.payload));
      answer = forcer.chatAnswer(job.payload, await call(forcer.completionRequest(job.payload, templated)));
    } catch (error) {
      if (job.abort.signal.aborted)
        return record(499, { server: server.name, stream, error: "client disconnected" });
      const message = (error as Error).message;
      if (res.headersSent)
        res.end(sseError(job.route.dialect === "embeddings" ? "chat" : job.route.dialect, message));
      else sendError(res, job.dialect, 502, message);
      return record(502, { server: server.name, stream, error: message });
    }
    this.sendWhole(res, answer, job, translation);
    record(200, { server: server.name, stream, usage: usageOf(answer) });
  }

  private async pipe(req: IncomingMessage, res: ServerResponse, job: PipeJob): Promise<void> {
    const { server, route, stream, abort, record } = job;
    const body = JSON.stringify(job.payload);
    const headers: Record<string, string> = { "content-type": "application/json" };
    for (const name of FORWARDED_HEADERS) {
      const value = req.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const url = new URL(job.baseUrl + route.path);
    const sseDialect = route.dialect === "embeddings" ? "chat" : route.dialect;
    let outcome = await this.relay(res, url, headers, body, server, abort);
    if (outcome.error && outcome.status === 0 && !abort.signal.aborted && isRetriable(outcome.error)) {
      outcome = await this.relay(res, url, headers, body, server, abort);
    }
    const { status, ttfbMs, isSse } = outcome;
    // Agents close the connection as soon as they read the stream's last event (Codex does on
    // `response.completed`), often before the upstream's own end arrives: that exchange completed.
    const completed = isSse && status === 200 && STREAM_END.test(outcome.text ?? "");
    if (abort.signal.aborted && !completed)
      return record(499, { server: server.name, stream, ttfbMs, error: "client disconnected" });
    const error = completed ? undefined : outcome.error;
    if (error) {
      if (status === 0) {
        const timedOut = error instanceof undiciErrors.HeadersTimeoutError;
        const message = timedOut
          ? `server ${server.name} sent nothing for ${Math.round(server.responseTimeoutMs / 1000)}s (raise servers.${server.name}.timeout.response for long prefills)`
          : `server ${server.name} could not be reached: ${error.message}`;
        if (res.headersSent) res.end(sseError(sseDialect, message));
        else sendError(res, job.dialect, timedOut ? 504 : 502, message);
        return record(timedOut ? 504 : 502, { server: server.name, stream, error: message });
      }
      const message = `server ${server.name} stopped mid-response: ${error.message}`;
      if (isSse) res.end(sseError(sseDialect, message));
      else res.destroy();
      return record(502, { server: server.name, stream, ttfbMs, error: message });
    }
    if (!outcome.passthrough) {
      res.end(
        sseError(
          sseDialect,
          `server ${server.name} answered ${status}: ${(outcome.text ?? "").slice(0, 2000)}`,
        ),
      );
      return record(status, { server: server.name, stream, error: `upstream status ${status}` });
    }
    res.end();
    let usage: Usage | undefined;
    try {
      usage = isSse ? usageFromSse(outcome.text ?? "") : usageOf(JSON.parse(outcome.text ?? ""));
    } catch {}
    record(status, {
      server: server.name,
      stream,
      ttfbMs,
      usage,
      error: status >= 400 ? `upstream status ${status}` : undefined,
    });
  }
}
