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
  | UsageEvent
  | { type: "error"; message: string };

/**
 * Token counts as the runtime reported them: `input` counts every prompt token, `cached` those of
 * them served from its prompt cache, `reasoning` the output tokens spent thinking.
 */
export interface UsageEvent {
  type: "usage";
  input: number;
  output: number;
  cached?: number;
  reasoning?: number;
}

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
  /** The request's settings every answer repeats (a Responses `response` object echoes them). */
  echo?: Json;
}

/** What is wrong with a request: the field, and the message the dialect's real API would give. */
export interface Invalid {
  field: string;
  message: string;
}

/** A request for an answer, or for a token count (Messages `count_tokens`, which needs no
 *  `max_tokens`; Gemini `:countTokens`). */
export type RequestKind = "answer" | "count";

/** A client dialect rendered from chat events. Pure: data in, data out. */
export interface Translator {
  dialect: "messages" | "responses" | "gemini";
  /** The first thing wrong with a request the API would refuse (missing or mistyped fields), checked
   *  before rig translates or answers it; undefined when it is well formed. */
  validate(body: Json, kind?: RequestKind): Invalid | undefined;
  /** The client's request as a Chat Completions request. */
  toChat(body: Json): { chat: Json; context: TranslationContext };
  /** A whole (non-streamed) answer in the client's dialect. */
  respond(events: ChatEvent[], context: TranslationContext): Json;
  /** A stream renderer: each call returns the SSE text to send for those events. */
  stream(context: TranslationContext): StreamRenderer;
  /** Events rig answers with by itself, without asking the runtime (Codex's warm-up request has
   *  no input); undefined = ask the runtime. The gateway renders them with respond()/stream(). */
  localAnswer(body: Json): ChatEvent[] | undefined;
  /** The dialect's token-count route (Messages `count_tokens`, Gemini `:countTokens`) answered by
   *  estimate when rig translates; undefined when the dialect has no such route. */
  countTokens(body: Json): Json | undefined;
  /** The request as passed natively to a runtime that speaks this dialect, with the fix-ups it
   *  needs (Claude Code's per-turn billing header in `system` would break prompt caching). */
  nativeRequest(body: Json): Json;
}

export interface StreamRenderer {
  push(events: ChatEvent[]): string;
  /** Closes the stream (and any open blocks); `error` ends it with the dialect's error event. */
  end(error?: string): string;
}

/**
 * What a translated answer's tool calls were, as rig built them: each call's name as the runtime
 * wrote it (before rig maps a shortened name back), how many had arguments that did not parse until
 * rig repaired them, how many the model wrote as text and rig extracted, and the runtime's own finish
 * reason (`length` = cut by the token limit, even when rig reports the turn as `tool_calls`).
 */
export interface ToolCallReport {
  names: string[];
  repaired: number;
  extracted: number;
  finishReason?: string;
}
