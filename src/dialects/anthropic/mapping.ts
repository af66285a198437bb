import type { Json, TranslationContext, UsageEvent } from "../types.ts";

/** The Chat finish reasons a Messages client has a name for; anything else ended the turn. */
const STOP_REASONS = new Map([
  ["tool_calls", "tool_use"],
  ["length", "max_tokens"],
  ["stop", "end_turn"],
  ["content_filter", "refusal"],
]);

/** A Chat `finish_reason` as a Messages `stop_reason`. */
export function stopReason(finish: string | undefined): string {
  return STOP_REASONS.get(finish ?? "stop") ?? "end_turn";
}

/**
 * The Messages `usage` object. Before the runtime reports (message_start, or an answer without
 * usage) the input is rig's estimate and nothing was output yet.
 */
export function usageOf(usage: UsageEvent | undefined, context: TranslationContext): Json {
  if (!usage) return { input_tokens: context.inputTokens ?? 0, output_tokens: 0 };
  return {
    input_tokens: usage.input,
    output_tokens: usage.output,
    ...(usage.cached ? { cache_read_input_tokens: usage.cached } : {}),
  };
}
