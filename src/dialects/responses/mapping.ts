import { prefixedId } from "../ids.ts";
import type { Json, TranslationContext, UsageEvent } from "../types.ts";

/** Why a Chat answer that ended this way is incomplete, in the Responses API's words. */
const INCOMPLETE_REASONS = new Map([
  ["length", "max_output_tokens"],
  ["content_filter", "content_filter"],
]);

/** How an answer ended, as a Responses `status`: a cut by the token limit is `incomplete`, as OpenAI reports it. */
export function endingOf(finish: string | undefined): { status: string; incomplete_details: Json | null } {
  const reason = INCOMPLETE_REASONS.get(finish ?? "stop");
  return reason
    ? { status: "incomplete", incomplete_details: { reason } }
    : { status: "completed", incomplete_details: null };
}

/** A runtime's tool call id as a Responses `call_id` (`call_…`, as OpenAI's are). */
export const callId = (id: string) => prefixedId("call_", id);

/**
 * The Responses `usage` object: `input_tokens` counts the whole prompt, of which `cached_tokens` came
 * from the runtime's cache. Before the runtime reports, the input is rig's estimate.
 */
export function usageOf(usage: UsageEvent | undefined, context: TranslationContext): Json {
  const input = usage?.input ?? context.inputTokens ?? 0;
  const output = usage?.output ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage?.cached ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage?.reasoning ?? 0 },
    total_tokens: input + output,
  };
}
