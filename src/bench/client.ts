import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { performance } from "node:perf_hooks";
import { type AnswerFigures, ChatStreamReader } from "./stream.ts";

/** Where a measured request goes: the gateway or the runtime itself, and the model name it takes there. */
export interface ChatTarget {
  /** The full URL of the Chat Completions route. */
  url: string;
  model: string;
  headers?: Record<string, string>;
}

export interface ChatAsk {
  /** The user's message of a filler request. */
  prompt: string;
  /** The answer's length, unless `request` sets its own `max_tokens`. */
  maxTokens: number;
  timeoutMs: number;
  /** A prompt set's request (messages, tools, …), sent instead of `prompt` as it is written. */
  request?: Record<string, unknown>;
}

/**
 * One streamed Chat Completions request on a new connection (llama-server closes its connection after
 * every stream, so every path gets the same kind), timed from the moment it is sent.
 */
export function streamChat(target: ChatTarget, ask: ChatAsk): Promise<AnswerFigures> {
  const body = JSON.stringify({
    max_tokens: ask.maxTokens,
    ...(ask.request ?? {
      // Honoured by llama.cpp, vLLM and SGLang, ignored elsewhere: answers run to max_tokens, so every
      // request generates the same number of tokens.
      ignore_eos: true,
      messages: [{ role: "user", content: ask.prompt }],
    }),
    model: target.model,
    stream: true,
    stream_options: { include_usage: true },
  });
  const url = new URL(target.url);
  const send = url.protocol === "https:" ? httpsRequest : request;
  return new Promise((resolve, reject) => {
    const reader = new ChatStreamReader();
    const sent = performance.now();
    const req = send(
      url,
      {
        method: "POST",
        agent: false,
        timeout: ask.timeoutMs,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...target.headers,
        },
      },
      (res) => {
        res.setEncoding("utf8");
        let head = "";
        res.on("data", (text: string) => {
          if (res.statusCode !== 200) head = (head + text).slice(0, 2000);
          else reader.push(text, performance.now() - sent);
        });
        res.on("end", () => {
          if (res.statusCode !== 200)
            return reject(new Error(`${target.url} answered ${res.statusCode}: ${errorText(head)}`));
          reader.push("\n", performance.now() - sent);
          const figures = reader.figures();
          if (reader.error) return reject(new Error(`${target.url}: ${reader.error}`));
          if (!figures) return reject(new Error(`${target.url} streamed no tokens`));
          resolve(figures);
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`${target.url} sent nothing for ${Math.round(ask.timeoutMs / 1000)} s`)),
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The message of an OpenAI-style error body, or the body itself. */
function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } | string };
    const error = parsed.error;
    return (typeof error === "string" ? error : error?.message) ?? body;
  } catch {
    return body;
  }
}
