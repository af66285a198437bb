import { randomUUID } from "node:crypto";
import type { Json, TranslationContext, UsageEvent } from "../types.ts";

/** The Chat finish reasons a Gemini client has a name for; a turn that called tools ends with STOP, as Gemini's do. */
const FINISH_REASONS = new Map([
  ["stop", "STOP"],
  ["tool_calls", "STOP"],
  ["length", "MAX_TOKENS"],
  ["content_filter", "SAFETY"],
]);

/** A Chat `finish_reason` as a Gemini `finishReason`. */
export function finishReason(finish: string | undefined): string {
  return FINISH_REASONS.get(finish ?? "stop") ?? "STOP";
}

/**
 * The `usageMetadata` object: the prompt counts every input token (the cached ones too, as Google
 * counts them), candidates exclude the thinking tokens, which are counted apart. Before the runtime
 * reports, the input is rig's estimate.
 */
export function usageMetadata(usage: UsageEvent | undefined, context: TranslationContext): Json {
  const prompt = usage ? usage.input : (context.inputTokens ?? 0);
  const output = usage?.output ?? 0;
  const thoughts = Math.min(usage?.reasoning ?? 0, output);
  return {
    promptTokenCount: prompt,
    candidatesTokenCount: output - thoughts,
    totalTokenCount: prompt + output,
    ...(usage?.cached ? { cachedContentTokenCount: Math.min(usage.cached, prompt) } : {}),
    ...(thoughts ? { thoughtsTokenCount: thoughts } : {}),
  };
}

/** A `responseId` as Google's look: URL-safe base64 of random bytes. */
export const newResponseId = () => Buffer.from(randomUUID().replace(/-/g, ""), "hex").toString("base64url");

/** Google's status names, by HTTP status. */
const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  405: "INVALID_ARGUMENT",
  409: "ABORTED",
  413: "INVALID_ARGUMENT",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  501: "UNIMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** An error as Google's APIs give it: `{error: {code, message, status}}`, in a body or an SSE chunk. */
export function googleError(code: number, message: string, extra: Json = {}): Json {
  // A 4xx without a name of its own (a 408, a runtime's 422) is still the caller's: Google says INVALID_ARGUMENT.
  const fallback = code >= 400 && code < 500 ? "INVALID_ARGUMENT" : "INTERNAL";
  return { error: { code, message, status: STATUS_NAMES[code] ?? fallback, ...extra } };
}

/** `GET /v1beta/models`: the models a gateway serves, as Google lists its own. */
export function geminiModelList(models: Array<{ id: string; context?: number | null }>): Json {
  return {
    models: models.map((model) => ({
      name: `models/${model.id}`,
      displayName: model.id,
      ...(model.context ? { inputTokenLimit: model.context } : {}),
      supportedGenerationMethods: ["generateContent", "streamGenerateContent", "countTokens"],
    })),
  };
}
