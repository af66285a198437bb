import { prefixedId } from "../ids.ts";
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

/** A runtime's tool call id as a `tool_use` id (`toolu_…`, as Anthropic's are). */
export const toolUseId = (id: string) => prefixedId("toolu_", id);

/**
 * The Messages `usage` object: `input_tokens` counts only what was not read from the cache, as
 * Anthropic counts it (the whole prompt is the sum of the three input counts). Before the runtime
 * reports (message_start, or an answer without usage) the input is rig's estimate and nothing was
 * output yet.
 */
export function usageOf(usage: UsageEvent | undefined, context: TranslationContext): Json {
  const cached = Math.min(usage?.cached ?? 0, usage?.input ?? 0);
  return {
    input_tokens: usage ? usage.input - cached : (context.inputTokens ?? 0),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
    output_tokens: usage?.output ?? 0,
  };
}
