import type { Json, TranslationContext, UsageEvent } from "../types.ts";

/**
 * The status of an answer that finished, whatever the Chat finish reason. OpenAI reports a cut by the
 * token limit as `incomplete` (with `incomplete_details.reason`); rig has always reported
 * `completed`, which clients of the gateway see and tests pin, so a limit shows only in the usage.
 */
export const FINISHED_STATUS = "completed";

/** The Responses `usage` object; before the runtime reports, the input is rig's estimate. */
export function usageOf(usage: UsageEvent | undefined, context: TranslationContext): Json {
  const input = usage?.input ?? context.inputTokens ?? 0;
  const output = usage?.output ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage?.cached ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}
