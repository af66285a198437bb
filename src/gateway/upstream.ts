import { performance } from "node:perf_hooks";
import type { Dispatcher } from "undici";
import requestOn from "undici/lib/api/api-request.js";
import Agent from "undici/lib/dispatcher/agent.js";

type Json = Record<string, unknown>;

/** Where a relayed response goes: the client (native), a translator, or a buffer. */
export interface RelaySink {
  /** The upstream's status and content type, once, before any data. */
  start(status: number, contentType: string): void;
  /** A chunk of the body; false asks the relay to pause until `waitDrain` calls back. */
  data(chunk: Buffer): boolean;
  waitDrain(resume: () => void): void;
  /**
   * The body is complete, called before the relay settles: a sink that ends its response here sends
   * the last chunk and the end in one write, instead of one more write a tick later.
   */
  end?(): void;
}

export interface RelayOutcome {
  /** 0 when no response arrived. */
  status: number;
  /** Time from sending the request to its first body byte. */
  ttfbMs?: number;
  error?: Error;
}

export interface UpstreamRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  /** The longest silent wait for headers or the next body byte. */
  timeoutMs: number;
  abort: AbortSignal;
}

/**
 * The one retry rule: an exchange that failed before any response, on a connection the runtime
 * reset or refused (llama-server closes a connection it advertised as keep-alive after every
 * stream), is sent once more on a fresh connection. Never after a response began.
 */
function retriable(outcome: RelayOutcome, abort: AbortSignal): boolean {
  const code = (outcome.error as { code?: string } | undefined)?.code;
  return (
    outcome.status === 0 &&
    !abort.aborted &&
    (code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE" || code === "ECONNREFUSED")
  );
}

/** Errors that mean the request never reached a server that could answer it. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * Thrown by an upstream in fallback mode when its target cannot take the request (unreachable, or 503)
 * before the sink was given anything: the client holds no byte of this answer, so the next target of
 * the fallback chain may answer instead.
 */
export class TargetUnavailable extends Error {}

function unavailability(
  outcome: RelayOutcome & { refused?: string },
  abort: AbortSignal,
): string | undefined {
  if (outcome.refused !== undefined) return `answered 503: ${outcome.refused}`;
  const code = (outcome.error as { code?: string } | undefined)?.code;
  if (outcome.status === 0 && !abort.aborted && code && UNREACHABLE.has(code))
    return `could not be reached: ${outcome.error!.message}`;
  return undefined;
}

/** What one target's view of the pool adds to the shared pool (see `Upstream.view`). */
export interface UpstreamView {
  /** The target has a next one to fall back to (the fallback rule applies). */
  fallible: boolean;
  /** Sent with every request of this view: a peer's key, given only to that peer's view. */
  headers: Record<string, string>;
}

/** A server that drops its connection this soon after a stream ended closes after every stream. */
const CLOSE_AFTER_STREAM_MS = 50;

/** The gateway's connections to runtimes: one keep-alive pool for every server. */
export class Upstream {
  private readonly dispatcher = new Agent({
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 30_000,
    connect: { timeout: 10_000 },
  });
  /** When a stream from each origin last ended (performance.now()). */
  private readonly streamEnded = new Map<string, number>();
  /**
   * Origins that close the connection after every stream although they answer keep-alive (llama-server
   * does). A request sent on such a connection just as it closes fails and is sent again (the retry
   * rule), a reconnect that costs milliseconds on a machine the model keeps busy: requests to these
   * origins ask for `connection: close` instead, so no pooled connection is ever raced.
   */
  private readonly closesAfterStreams = new Set<string>();
  /** Set on the views `view()` returns. */
  private fallible = false;
  private headers: Record<string, string> = {};

  constructor() {
    this.dispatcher.on("disconnect", (origin: URL | string) => {
      const key = typeof origin === "string" ? origin : origin.origin;
      const ended = this.streamEnded.get(key);
      if (ended !== undefined && performance.now() - ended < CLOSE_AFTER_STREAM_MS)
        this.closesAfterStreams.add(key);
    });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  /**
   * This pool for one target: with `fallible` (the target has a next one to fall back to) an
   * unreachable target or a 503 throws TargetUnavailable instead of reaching the sink; `headers` go
   * with every request. A view on the same pool (its prototype is this upstream), so connections and
   * what is known of each origin stay shared.
   */
  view({ fallible, headers }: UpstreamView): Upstream {
    const view = Object.create(this) as Upstream;
    view.fallible = fallible;
    view.headers = headers;
    return view;
  }

  /** Relays one exchange into `sink`, applying the retry rule (and in fallback mode, the fallback rule). */
  async relay(request: UpstreamRequest, sink: RelaySink): Promise<RelayOutcome> {
    let outcome = await this.relayOnce(request, sink);
    if (retriable(outcome, request.abort)) outcome = await this.relayOnce(request, sink);
    const unavailable = this.fallible ? unavailability(outcome, request.abort) : undefined;
    if (unavailable) throw new TargetUnavailable(unavailable);
    return outcome;
  }

  private relayOnce(request: UpstreamRequest, sink: RelaySink): Promise<RelayOutcome & { refused?: string }> {
    const { url, abort } = request;
    const sent = performance.now();
    const fallible = this.fallible;
    return new Promise((resolve) => {
      let status = 0;
      // In fallback mode a 503's body is kept here (its first bytes name the reason), not relayed.
      let refused: Buffer[] | undefined;
      let streamed = false;
      let ttfbMs: number | undefined;
      let controller: Dispatcher.DispatchController | undefined;
      const onAbort = () => controller?.abort(new Error("client disconnected"));
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        abort.removeEventListener("abort", onAbort);
        const reason = refused && Buffer.concat(refused).toString("utf8").slice(0, 500);
        resolve({ status, ttfbMs, error, ...(reason !== undefined && { refused: reason }) });
      };
      abort.addEventListener("abort", onAbort);
      this.dispatcher.dispatch(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: "POST",
          headers: { ...request.headers, ...this.headers },
          body: request.body,
          reset: this.closesAfterStreams.has(url.origin),
          headersTimeout: request.timeoutMs,
          bodyTimeout: request.timeoutMs,
        },
        {
          onRequestStart(started) {
            controller = started;
            if (abort.aborted) started.abort(new Error("client disconnected"));
          },
          onResponseStart(_controller, statusCode, headers) {
            status = statusCode;
            if (fallible && statusCode === 503) {
              refused = [];
              return;
            }
            const contentType = String(headers["content-type"] ?? "application/json");
            streamed = contentType.includes("text/event-stream");
            sink.start(statusCode, contentType);
          },
          onResponseData(dataController, chunk) {
            if (refused) return void refused.push(chunk);
            ttfbMs ??= performance.now() - sent;
            if (!sink.data(chunk)) {
              dataController.pause();
              sink.waitDrain(() => dataController.resume());
            }
          },
          onResponseEnd: () => {
            if (streamed) this.streamEnded.set(url.origin, performance.now());
            if (!refused) sink.end?.();
            settle();
          },
          onResponseError(_controller, error) {
            settle(error);
          },
        },
      );
    });
  }

  /** A JSON POST whose answer rig reads whole (the steps of a forced tool call). */
  async postJson(request: Omit<UpstreamRequest, "headers" | "body"> & { body: Json }): Promise<Json> {
    let reply: Dispatcher.ResponseData;
    let text: string;
    try {
      reply = await requestOn.call(this.dispatcher, {
        origin: request.url.origin,
        path: request.url.pathname,
        method: "POST",
        headers: { "content-type": "application/json", ...this.headers },
        body: JSON.stringify(request.body),
        signal: request.abort,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      });
      text = await reply.body.text();
    } catch (error) {
      const code = (error as { code?: string }).code;
      const Failure = this.fallible && code && UNREACHABLE.has(code) ? TargetUnavailable : Error;
      throw new Failure(`could not be reached: ${(error as Error).message}`);
    }
    if (this.fallible && reply.statusCode === 503)
      throw new TargetUnavailable(`answered 503: ${text.slice(0, 500)}`);
    if (reply.statusCode !== 200)
      throw new Error(`answered ${reply.statusCode} on ${request.url.pathname}: ${text.slice(0, 1000)}`);
    try {
      return JSON.parse(text) as Json;
    } catch {
      throw new Error(`answered something that is not JSON on ${request.url.pathname}`);
    }
  }
}

const HEAD_BYTES = 4096;
const TAIL_BYTES = 16384;
const WHOLE_BYTES = 4 * 1024 * 1024;

/**
 * What the gateway keeps of a relayed body to read usage from, without buffering a stream: a
 * stream's first 4 KB and last 16 KB, or a JSON body up to 4 MB.
 */
export class BodySample {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private readonly tail: Buffer[] = [];
  private tailBytes = 0;

  constructor(private readonly isStream: boolean) {}

  add(chunk: Buffer): void {
    if (!this.isStream) {
      if (this.headBytes < WHOLE_BYTES) {
        this.head.push(chunk);
        this.headBytes += chunk.length;
      }
      return;
    }
    if (this.headBytes < HEAD_BYTES) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tail.length > 1 && this.tailBytes - this.tail[0]!.length >= TAIL_BYTES)
      this.tailBytes -= this.tail.shift()!.length;
  }

  text(): string {
    const head = Buffer.concat(this.head).toString("utf8");
    return this.isStream ? `${head}\n${Buffer.concat(this.tail).toString("utf8")}` : head;
  }
}
