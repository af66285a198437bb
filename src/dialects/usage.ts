// Reading token usage from what a runtime answered, in every dialect's shape and llama-server's
// `timings`. Pure: the gateway records it, the Chat event builder turns it into usage events.

/**
 * Token counts as a runtime reported them: `prompt` counts every prompt token, `cached` those of them
 * its prompt cache served. The ledger's `Usage` has this shape (dialects may not import the ledger).
 */
export interface ReportedUsage {
  prompt: number;
  completion: number;
  cached?: number;
}

type Json = Record<string, unknown>;

const count = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined);

/**
 * One `usage` object in any dialect. The prompt total counts what the cache served: OpenAI and
 * Responses include cached tokens in `prompt_tokens`/`input_tokens`, Messages does not (its
 * `input_tokens` is net of cache reads and writes, llama-server's native Messages included), so those
 * are added back. `cacheServed` is llama-server's `timings.cache_n`, used when the usage says nothing.
 */
function fromUsage(usage: unknown, cacheServed?: number): ReportedUsage | undefined {
  if (!usage || typeof usage !== "object") return undefined;
  const u = usage as Json;
  const completion = count(u.completion_tokens ?? u.output_tokens);
  const cacheRead = count(u.cache_read_input_tokens);
  const details = (u.prompt_tokens_details ?? u.input_tokens_details) as Json | undefined;
  let prompt = count(u.prompt_tokens);
  if (prompt === undefined && count(u.input_tokens) !== undefined) {
    const messagesStyle = cacheRead !== undefined || u.cache_creation_input_tokens !== undefined;
    prompt =
      count(u.input_tokens)! +
      (messagesStyle ? (cacheRead ?? 0) + (count(u.cache_creation_input_tokens) ?? 0) : 0);
  }
  if (prompt === undefined && completion === undefined) return undefined;
  const cached = count(details?.cached_tokens) ?? cacheRead ?? cacheServed;
  return {
    prompt: prompt ?? 0,
    completion: completion ?? 0,
    ...(cached === undefined ? {} : { cached }),
  };
}

/** Token usage from a response body or one stream event, in any of the three dialects. */
export function usageOf(value: unknown): ReportedUsage | undefined {
  if (!value || typeof value !== "object") return undefined;
  const v = value as Json;
  const timings = v.timings as Json | undefined;
  const cacheServed = count(timings?.cache_n);
  return (
    fromUsage(v.usage, cacheServed) ??
    fromUsage((v.message as Json | undefined)?.usage) ??
    fromUsage((v.response as Json | undefined)?.usage) ??
    // llama-server reports timings on its last stream chunk even when the client did not ask for
    // usage; its prompt_n counts only what the cache did not serve.
    (timings
      ? fromUsage(
          {
            prompt_tokens: (count(timings.prompt_n) ?? 0) + (cacheServed ?? 0),
            completion_tokens: timings.predicted_n,
          },
          cacheServed,
        )
      : undefined)
  );
}

/**
 * The usage a stream reported, read from its head and tail (never the whole stream). Anthropic streams
 * report input tokens in message_start and output tokens in message_delta, so a usage without input
 * tokens is completed from an earlier event.
 */
export function usageFromSse(text: string): ReportedUsage | undefined {
  let last: ReportedUsage | undefined;
  for (const line of text.split("\n").reverse()) {
    if (!line.startsWith("data:") || !(line.includes("usage") || line.includes("timings"))) continue;
    let usage: ReportedUsage | undefined;
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
    const cached = last.cached ?? usage.cached;
    return { ...last, prompt: usage.prompt, ...(cached === undefined ? {} : { cached }) };
  }
  return last;
}
