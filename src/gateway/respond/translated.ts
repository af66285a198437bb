import { StringDecoder } from "node:string_decoder";
import { ChatEventBuilder } from "../../dialects/chat.ts";
import { SseParser } from "../../dialects/sse.ts";
import type { ChatEvent, Json } from "../../dialects/types.ts";
import { describeExit, type LastExit } from "../../supervisor/status.ts";
import { type Exchange, failExchange, openStream } from "../exchange.ts";
import type { Translation } from "../plan.ts";
import { failedTally, offeredTools, translatedTally } from "../tally.ts";
import type { RelaySink, Upstream } from "../upstream.ts";
import type { Usage } from "../usage.ts";
import { sendTranslatedAnswer } from "./whole.ts";

export interface TranslatedJob {
  server: { name: string; responseTimeoutMs: number };
  payload: Json;
  baseUrl: string;
  stream: boolean;
  translation: Translation;
  /** How the server's process ended since `since`, if it did: a dropped upstream's error names it. */
  lastExit?(since: number): Promise<LastExit | undefined>;
}

/** The error message inside an upstream's error body, whatever shape it has. */
function upstreamMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const message = typeof parsed.error === "string" ? parsed.error : parsed.error?.message;
    return message ?? parsed.message ?? text.slice(0, 2000);
  } catch {
    return text.slice(0, 2000);
  }
}

/** A translated exchange: the client's dialect rendered from the runtime's Chat Completions answer. */
export async function respondTranslated(ex: Exchange, upstream: Upstream, job: TranslatedJob): Promise<void> {
  const { server, stream, translation } = job;
  const { translator, context } = translation;
  const { req, res } = ex;
  const headers: Record<string, string> = { "content-type": "application/json" };
  const userAgent = req.headers["user-agent"];
  if (typeof userAgent === "string") headers["user-agent"] = userAgent;
  const builder = new ChatEventBuilder(context, context.thinking);
  const renderer = translator.stream(context);
  const parser = new SseParser();
  const decoder = new StringDecoder("utf8");
  const collected: Buffer[] = [];
  let usage: Usage | undefined;
  let upstreamError: string | undefined;
  let streaming = false;
  const track = (events: ChatEvent[]) => {
    for (const event of events) {
      if (event.type === "usage")
        usage = { prompt: event.input, completion: event.output, cached: event.cached };
      if (event.type === "error") upstreamError = event.message;
    }
    return events;
  };
  const sink: RelaySink = {
    start(status, contentType) {
      streaming = stream && status === 200 && contentType.includes("text/event-stream");
      if (streaming) openStream(res, server.name);
    },
    data(chunk) {
      if (!streaming) {
        collected.push(chunk);
        return true;
      }
      let writable = true;
      for (const event of parser.feed(decoder.write(chunk))) {
        if (event.data === "[DONE]") continue;
        let parsed: Json;
        try {
          parsed = JSON.parse(event.data);
        } catch {
          continue;
        }
        const text = renderer.push(track(builder.chunk(parsed)));
        if (text) writable = res.write(text) && writable;
      }
      return writable;
    },
    waitDrain(resume) {
      res.once("drain", resume);
    },
  };
  const sent = Date.now();
  const { status, ttfbMs, error } = await upstream.relay(
    {
      url: new URL(`${job.baseUrl}/v1/chat/completions`),
      headers,
      body: JSON.stringify(job.payload),
      timeoutMs: server.responseTimeoutMs,
      abort: ex.abort.signal,
    },
    sink,
  );
  const facts = { server: server.name, stream, ttfbMs };
  const offered = offeredTools(job.payload);
  if (ex.abort.signal.aborted) return ex.record(499, { ...facts, error: "client disconnected" });
  const fail = (code: number, message: string, fromGateway = true) =>
    failExchange(ex, code, message, {
      facts: { ...facts, tools: failedTally(offered) },
      renderer,
      fromGateway,
    });
  const exit = error && (await job.lastExit?.(sent));
  const why = exit ? `; ${describeExit(server.name, exit)}` : "";
  if (error && status === 0)
    return fail(502, `server ${server.name} could not be reached: ${error.message}${why}`);
  if (error) return fail(502, `server ${server.name} stopped mid-response: ${error.message}${why}`);
  const body = Buffer.concat(collected).toString("utf8");
  if (status !== 200) return fail(status, `server ${server.name}: ${upstreamMessage(body)}`, false);
  if (streaming) {
    res.end(renderer.push(track(builder.end())) + renderer.end(upstreamError));
    const tools = upstreamError ? failedTally(offered) : translatedTally(offered, builder.report());
    return ex.record(200, { ...facts, usage, tools, error: upstreamError });
  }
  let answer: Json;
  try {
    answer = JSON.parse(body);
  } catch {
    return fail(502, `server ${server.name} answered something that is not JSON`);
  }
  const { events, report } = sendTranslatedAnswer(ex, server.name, answer, stream, translation);
  track(events);
  ex.record(200, { ...facts, usage, tools: translatedTally(offered, report) });
}
