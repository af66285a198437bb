import type { ChatEvent, Json, TranslationContext, UsageEvent } from "../types.ts";
import { finishReason, newResponseId, usageMetadata } from "./mapping.ts";

/** A function call as a Gemini part; its arguments are a JSON object (repaired upstream). */
export function functionCallPart(call: { id: string; name: string }, json: string): Json {
  let args: unknown;
  try {
    args = JSON.parse(json || "{}");
  } catch {
    args = {};
  }
  const object = args !== null && typeof args === "object" && !Array.isArray(args);
  return { functionCall: { id: call.id, name: call.name, args: object ? args : {} } };
}

/** One `GenerateContentResponse`: a whole answer, or a chunk of a stream. */
export function generateContentResponse(
  parts: Json[],
  context: TranslationContext,
  responseId: string,
  end?: { finish: string | undefined; usage: UsageEvent | undefined },
): Json {
  return {
    candidates: [
      {
        content: { role: "model", parts },
        ...(end ? { finishReason: finishReason(end.finish) } : {}),
        index: 0,
      },
    ],
    ...(end ? { usageMetadata: usageMetadata(end.usage, context) } : {}),
    modelVersion: context.model,
    responseId,
  };
}

/** A whole answer: consecutive text and thoughts merged into parts, function calls with their arguments. */
export function respondGemini(events: ChatEvent[], context: TranslationContext): Json {
  const parts: Json[] = [];
  const calls = new Map<number, { id: string; name: string; json: string; at: number }>();
  let finish: string | undefined;
  let usage: UsageEvent | undefined;
  for (const event of events) {
    const last = parts.at(-1);
    if (event.type === "text" || event.type === "reasoning") {
      if (!event.text) continue;
      const thought = event.type === "reasoning";
      if (last && typeof last.text === "string" && (last.thought === true) === thought)
        last.text += event.text;
      else parts.push(thought ? { text: event.text, thought: true } : { text: event.text });
    } else if (event.type === "tool_call") {
      calls.set(event.index, { id: event.id, name: event.name, json: "", at: parts.length });
      parts.push({});
    } else if (event.type === "tool_arguments") {
      const call = calls.get(event.index);
      if (call) call.json += event.text;
    } else if (event.type === "finish") finish = event.reason;
    else if (event.type === "usage") usage = event;
  }
  for (const call of calls.values()) parts[call.at] = functionCallPart(call, call.json);
  return generateContentResponse(parts, context, newResponseId(), { finish, usage });
}
