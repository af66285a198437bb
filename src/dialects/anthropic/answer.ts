import { newId } from "../ids.ts";
import type { ChatEvent, Json, TranslationContext, UsageEvent } from "../types.ts";
import { stopReason, toolUseId, usageOf } from "./mapping.ts";

/** A whole Messages answer: consecutive text and thinking merged into blocks, tool inputs parsed. */
export function respondMessage(events: ChatEvent[], context: TranslationContext): Json {
  const content: Json[] = [];
  let finish: string | undefined;
  let usage: UsageEvent | undefined;
  const calls = new Map<number, { block: Json; json: string }>();
  for (const event of events) {
    const last = content[content.length - 1];
    if (event.type === "text") {
      if (last?.type === "text") last.text = String(last.text) + event.text;
      else content.push({ type: "text", text: event.text });
    } else if (event.type === "reasoning") {
      if (last?.type === "thinking") last.thinking = String(last.thinking) + event.text;
      else content.push({ type: "thinking", thinking: event.text, signature: "" });
    } else if (event.type === "tool_call") {
      const block = { type: "tool_use", id: toolUseId(event.id), name: event.name, input: {} };
      calls.set(event.index, { block, json: "" });
      content.push(block);
    } else if (event.type === "tool_arguments") {
      const call = calls.get(event.index);
      if (call) call.json += event.text;
    } else if (event.type === "finish") finish = event.reason;
    else if (event.type === "usage") usage = event;
  }
  for (const { block, json } of calls.values()) {
    try {
      block.input = JSON.parse(json || "{}");
    } catch {
      block.input = {};
    }
  }
  return {
    id: newId("msg"),
    type: "message",
    role: "assistant",
    model: context.model,
    content: content.filter((block) => block.type !== "text" || String(block.text).length > 0),
    stop_reason: stopReason(finish),
    stop_sequence: null,
    usage: usageOf(usage, context),
  };
}
