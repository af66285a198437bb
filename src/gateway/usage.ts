import type { Usage } from "../ledger/ledger.ts";

export type { Usage };

type Json = Record<string, unknown>;

function fromUsage(usage: unknown): Usage | undefined {
  if (!usage || typeof usage !== "object") return undefined;
  const u = usage as Json;
  const prompt = (u.prompt_tokens ?? u.input_tokens) as number | undefined;
  const completion = (u.completion_tokens ?? u.output_tokens) as number | undefined;
  if (typeof prompt !== "number" && typeof completion !== "number") return undefined;
  const details = (u.prompt_tokens_details ?? u.input_tokens_details) as Json | undefined;
  const cached = (details?.cached_tokens ?? u.cache_read_input_tokens) as number | undefined;
  return {
    prompt: prompt ?? 0,
    completion: completion ?? 0,
    ...(typeof cached === "number" ? { cached } : {}),
  };
}

/** Token usage from a response body or one stream event, in any of the three dialects. */
export function usageOf(value: unknown): Usage | undefined {
  if (!value || typeof value !== "object") return undefined;
  const v = value as Json;
  const timings = v.timings as Json | undefined;
  return (
    fromUsage(v.usage) ??
    fromUsage((v.message as Json | undefined)?.usage) ??
    fromUsage((v.response as Json | undefined)?.usage) ??
    // llama-server reports timings on its last stream chunk even when the client did not ask for usage.
    (timings
      ? fromUsage({ prompt_tokens: timings.prompt_n, completion_tokens: timings.predicted_n })
      : undefined)
  );
}

/**
 * The usage a stream reported, read from its head and tail (never the whole stream). Anthropic streams
 * report input tokens in message_start and output tokens in message_delta, so a usage without input
 * tokens is completed from an earlier event.
 */
export function usageFromSse(text: string): Usage | undefined {
  let last: Usage | undefined;
  for (const line of text.split("\n").reverse()) {
    if (!line.startsWith("data:") || !(line.includes("usage") || line.includes("timings"))) continue;
    let usage: Usage | undefined;
    try {
      usage = usageOf(JSON.parse(line.slice(5)));
    } catch {
      continue;
    }
    if (!usage) continue;
    if (!last) {
      last = usage;
      if (usage.prompt > 0 || usage.completion === 0) return usage;
      continue;
    }
    return {
      ...last,
      prompt: usage.prompt,
      ...((last.cached ?? usage.cached) ? { cached: last.cached ?? usage.cached } : {}),
    };
  }
  return last;
}
