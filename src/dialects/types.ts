/**
 * The one internal event model every translation goes through: what a Chat Completions answer
 * (streamed or not) said, in order. Client dialects (Anthropic Messages, OpenAI Responses) are
 * rendered from these events; nothing renders from raw chunks.
 */
export type ChatEvent =
  | { type: "text"; text: string }
  | { type: "reasoning"; text: string }
  | { type: "tool_call"; index: number; id: string; name: string }
  | { type: "tool_arguments"; index: number; text: string }
  | { type: "finish"; reason: string }
  | { type: "usage"; input: number; output: number; cached?: number }
  | { type: "error"; message: string };

export type Json = Record<string, unknown>;

/** What a translation must remember between the request and the answer. */
export interface TranslationContext {
  /** The model name the client asked for, echoed back to it. */
  model: string;
  /** Tool names shortened for the runtime (over 64 characters) → the client's original names. */
  toolNames: Map<string, string>;
  /** Whether tools were offered (so a call written as text may be extracted). */
  toolsOffered: boolean;
  /** Estimated input tokens, known before the answer (message_start needs a number). */
  inputTokens?: number;
  /** The client asked for thinking: `<think>` may open in the template, so hold the stream's start. */
  thinking?: boolean;
}

/** A client dialect rendered from chat events. Pure: data in, data out. */
export interface Translator {
  dialect: "messages" | "responses";
  /** The client's request as a Chat Completions request. */
  toChat(body: Json): { chat: Json; context: TranslationContext };
  /** A whole (non-streamed) answer in the client's dialect. */
  respond(events: ChatEvent[], context: TranslationContext): Json;
  /** A stream renderer: each call returns the SSE text to send for those events. */
  stream(context: TranslationContext): StreamRenderer;
}

export interface StreamRenderer {
  push(events: ChatEvent[]): string;
  /** Closes the stream (and any open blocks); `error` ends it with the dialect's error event. */
  end(error?: string): string;
}
