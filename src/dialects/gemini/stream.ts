import { streamRenderer } from "../sse.ts";
import type { ChatEvent, Json, StreamRenderer, TranslationContext, UsageEvent } from "../types.ts";
import { functionCallPart, generateContentResponse } from "./answer.ts";
import { googleError, newResponseId } from "./mapping.ts";

/** One chunk of a Gemini stream (`?alt=sse`): an SSE event with no name. */
export const geminiChunk = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

/**
 * A Gemini stream: a `GenerateContentResponse` chunk per piece of text or thought; function calls
 * whole (Gemini streams never split one), sent when the next part begins or with the last chunk, which
 * carries the finishReason and usageMetadata.
 */
export function streamGemini(context: TranslationContext): StreamRenderer {
  const responseId = newResponseId();
  const calls: Array<{ index: number; id: string; name: string; json: string }> = [];
  let finish: string | undefined;
  let usage: UsageEvent | undefined;
  const callParts = () => calls.splice(0).map((call) => functionCallPart(call, call.json));
  const chunk = (parts: Json[], end?: Parameters<typeof generateContentResponse>[3]) =>
    geminiChunk(generateContentResponse(parts, context, responseId, end));
  const flushCalls = () => (calls.length ? chunk(callParts()) : "");
  const render = (event: ChatEvent): string => {
    if (event.type === "finish") finish = event.reason;
    else if (event.type === "usage") usage = event;
    else if (event.type === "tool_call") calls.push({ ...event, json: "" });
    else if (event.type === "tool_arguments") {
      const call = calls.find((candidate) => candidate.index === event.index);
      if (call) call.json += event.text;
    } else if ((event.type === "text" || event.type === "reasoning") && event.text)
      return (
        flushCalls() +
        chunk([event.type === "text" ? { text: event.text } : { text: event.text, thought: true }])
      );
    return "";
  };
  const end = (error?: string) => {
    if (error) return flushCalls() + geminiChunk(googleError(500, error));
    return chunk(callParts(), { finish, usage });
  };
  return streamRenderer(() => "", render, end);
}
