// What one streamed Chat Completions answer says about speed, read from its SSE lines and the times
// they arrived. Pure: the client feeds text and clock readings.

import type { StreamedCall } from "./prompts.ts";

type Json = Record<string, unknown>;

const count = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : undefined);

/** llama-server's per-request timings (`timings` on its last chunk): the runtime's own clock. */
interface RuntimeTimings {
  promptPerSecond?: number;
  predictedPerSecond?: number;
}

/** One answer, as measured. Times are milliseconds from sending the request. */
export interface AnswerFigures {
  ttftMs: number;
  promptTokens?: number;
  cachedTokens?: number;
  completionTokens: number;
  /** Prompt tokens processed per second: the runtime's timing, else the uncached prompt over the time to first token. */
  promptPerSecond?: number;
  /** Tokens generated per second after the first: the runtime's timing, else counted between first and last token. */
  generationPerSecond?: number;
  /** "runtime" when the runtime reported its own timings, "client" when rig computed them from arrival times. */
  timedBy: "runtime" | "client";
  /** The tool calls the answer streamed, assembled from their deltas; absent when it made none. */
  toolCalls?: StreamedCall[];
}

/** Reads an SSE chat stream as it arrives: `push` each chunk of text with the time it came. */
export class ChatStreamReader {
  private pending = "";
  private firstAt?: number;
  private lastAt?: number;
  private deltas = 0;
  private usage?: Json;
  private timings?: RuntimeTimings;
  private readonly calls = new Map<number, StreamedCall>();
  /** The error an upstream sent as an event, if it did. */
  error?: string;

  push(text: string, at: number): void {
    const lines = (this.pending + text).split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) this.line(line.trimEnd(), at);
  }

  private line(line: string, at: number): void {
    if (!line.startsWith("data:")) return;
    const data = line.slice(5).trim();
    if (!data.startsWith("{")) return;
    let chunk: Json;
    try {
      chunk = JSON.parse(data) as Json;
    } catch {
      return;
    }
    if (chunk.error) {
      const error = chunk.error as Json | string;
      this.error = typeof error === "string" ? error : String(error.message ?? JSON.stringify(error));
    }
    if (chunk.usage && typeof chunk.usage === "object") this.usage = chunk.usage as Json;
    const timings = chunk.timings as Json | undefined;
    if (timings)
      this.timings = {
        promptPerSecond: count(timings.prompt_per_second),
        predictedPerSecond: count(timings.predicted_per_second),
      };
    const choice = (chunk.choices as Json[] | undefined)?.[0];
    const delta = choice?.delta as Json | undefined;
    if (!delta) return;
    const produced = [delta.content, delta.reasoning_content, delta.reasoning].some(
      (text) => typeof text === "string" && text.length > 0,
    );
    if (Array.isArray(delta.tool_calls)) this.addCallDeltas(delta.tool_calls as Json[]);
    if (!produced && !Array.isArray(delta.tool_calls)) return;
    this.firstAt ??= at;
    this.lastAt = at;
    this.deltas++;
  }

  /** A call's name comes in its first delta, its arguments in pieces over the following ones. */
  private addCallDeltas(deltas: Json[]): void {
    for (const delta of deltas) {
      const index = typeof delta.index === "number" ? delta.index : this.calls.size;
      const call = this.calls.get(index) ?? { name: "", arguments: "" };
      const fn = delta.function as Json | undefined;
      if (typeof fn?.name === "string") call.name += fn.name;
      if (typeof fn?.arguments === "string") call.arguments += fn.arguments;
      this.calls.set(index, call);
    }
  }

  /** The figures of a finished answer; undefined when no token arrived. */
  figures(): AnswerFigures | undefined {
    if (this.firstAt === undefined || this.lastAt === undefined) return undefined;
    const usage = this.usage;
    const promptTokens = count(usage?.prompt_tokens);
    const cachedTokens = count((usage?.prompt_tokens_details as Json | undefined)?.cached_tokens);
    const completionTokens = count(usage?.completion_tokens) ?? this.deltas;
    const runtime = this.timings;
    const uncached = promptTokens === undefined ? undefined : promptTokens - (cachedTokens ?? 0);
    const generating = (this.lastAt - this.firstAt) / 1000;
    return {
      ttftMs: this.firstAt,
      promptTokens,
      cachedTokens,
      completionTokens,
      promptPerSecond:
        runtime?.promptPerSecond ?? (uncached === undefined ? undefined : uncached / (this.firstAt / 1000)),
      generationPerSecond:
        runtime?.predictedPerSecond ??
        (completionTokens > 1 && generating > 0 ? (completionTokens - 1) / generating : undefined),
      timedBy: runtime?.promptPerSecond !== undefined ? "runtime" : "client",
      ...(this.calls.size ? { toolCalls: [...this.calls.values()] } : {}),
    };
  }
}
