import undiciErrors from "undici/lib/core/errors.js";
import type { Json } from "../../dialects/types.ts";
import { describeExit, type LastExit } from "../../supervisor/status.ts";
import { type Exchange, failExchange, writeHead } from "../exchange.ts";
import { failedTally, offeredTools, relayedStreamTally, relayedTally, type ToolTally } from "../tally.ts";
import { BodySample, type RelaySink, type Upstream } from "../upstream.ts";
import { type Usage, usageFromSse, usageOf } from "../usage.ts";

const FORWARDED_HEADERS = ["accept", "anthropic-version", "anthropic-beta", "user-agent", "openai-beta"];
/** The last event of a stream in each dialect: a client may hang up once it has it. */
const STREAM_END = /data: \[DONE\]|"type":\s*"(response\.completed|message_stop)"/;

export interface NativeJob {
  server: { name: string; responseTimeoutMs: number };
  /** The setting that sets `responseTimeoutMs` (`servers.<name>.timeout.response`, `peers.<name>.timeout`). */
  timeoutSetting: string;
  payload: Json;
  upstreamPath: string;
  baseUrl: string;
  stream: boolean;
  /** How the server's process ended since `since`, if it did: a dropped upstream's error names it. */
  lastExit?(since: number): Promise<LastExit | undefined>;
}

/** The runtime speaks the client's dialect: its answer is relayed byte for byte, usage read on the side. */
export async function respondNative(ex: Exchange, upstream: Upstream, job: NativeJob): Promise<void> {
  const { server, stream } = job;
  const { req, res } = ex;
  const headers: Record<string, string> = { "content-type": "application/json" };
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  let isSse = false;
  let sample = new BodySample(false);
  // False when the client already holds an SSE stream (comments while the server started) and the
  // upstream answered something else: that body becomes an SSE error event.
  let relayed = true;
  const sink: RelaySink = {
    start(status, contentType) {
      isSse = contentType.includes("text/event-stream");
      sample = new BodySample(isSse);
      relayed = !res.headersSent || isSse;
      if (!res.headersSent)
        writeHead(res, status, {
          "content-type": contentType,
          "cache-control": "no-cache",
          "x-rig-server": server.name,
        });
    },
    data(chunk) {
      sample.add(chunk);
      return !relayed || res.write(chunk);
    },
    waitDrain(resume) {
      res.once("drain", resume);
    },
    end() {
      if (relayed) res.end();
    },
  };
  const sent = Date.now();
  const outcome = await upstream.relay(
    {
      url: new URL(job.baseUrl + job.upstreamPath),
      headers,
      body: JSON.stringify(job.payload),
      timeoutMs: server.responseTimeoutMs,
      abort: ex.abort.signal,
    },
    sink,
  );
  const { status, ttfbMs } = outcome;
  const text = sample.text();
  // Agents close the connection as soon as they read the stream's last event (Codex does on
  // `response.completed`), often before the upstream's own end arrives: that exchange completed. Only
  // a cut exchange is scanned for it.
  const cut = ex.abort.signal.aborted || outcome.error !== undefined;
  const completed = cut && isSse && status === 200 && STREAM_END.test(text);
  const facts = { server: server.name, stream, ttfbMs };
  const offered = offeredTools(job.payload);
  if (ex.abort.signal.aborted && !completed)
    return ex.record(499, { ...facts, error: "client disconnected" });
  const error = completed ? undefined : outcome.error;
  const exit = error && (await job.lastExit?.(sent));
  const why = exit ? `; ${describeExit(server.name, exit)}` : "";
  if (error && status === 0) {
    const timedOut = error instanceof undiciErrors.HeadersTimeoutError;
    const message = timedOut
      ? `server ${server.name} sent nothing for ${Math.round(server.responseTimeoutMs / 1000)}s (raise ${job.timeoutSetting} for long prefills)`
      : `server ${server.name} could not be reached: ${error.message}${why}`;
    return failExchange(ex, timedOut ? 504 : 502, message, {
      facts: { server: server.name, stream, tools: failedTally(offered) },
    });
  }
  if (error)
    return failExchange(ex, 502, `server ${server.name} stopped mid-response: ${error.message}${why}`, {
      facts: { ...facts, tools: failedTally(offered) },
    });
  if (!relayed) {
    return failExchange(ex, status, `server ${server.name} answered ${status}: ${text.slice(0, 2000)}`, {
      facts: { server: server.name, stream, error: `upstream status ${status}`, tools: failedTally(offered) },
    });
  }
  let usage: Usage | undefined;
  let tools: ToolTally = status >= 400 ? failedTally(offered) : relayedStreamTally(offered, text);
  try {
    if (isSse) usage = usageFromSse(text);
    else {
      const answer = JSON.parse(text);
      usage = usageOf(answer);
      if (status < 400) tools = relayedTally(offered, answer);
    }
  } catch {}
  ex.record(status, {
    ...facts,
    usage,
    tools,
    error: status >= 400 ? `upstream status ${status}` : undefined,
  });
}
