import { sse, streamRenderer } from "../sse.ts";
import type { ChatEvent, Json, StreamRenderer, TranslationContext, UsageEvent } from "../types.ts";
import { envelope, finishedState, Items, responseHead } from "./answer.ts";
import { usageOf } from "./mapping.ts";

/** The Responses event that carries each kind of streamed text. */
const DELTA_EVENTS = {
  text: "response.output_text.delta",
  reasoning: "response.reasoning_text.delta",
  tool_arguments: "response.function_call_arguments.delta",
} as const;

/**
 * A Responses stream: created and in_progress, then per output item added, deltas and done, and
 * `response.completed` (`response.incomplete` when cut short, `response.failed` on an error)
 * carrying every item; sequence numbers count from 0.
 */
export function streamResponse(context: TranslationContext): StreamRenderer {
  const head = responseHead();
  const items = new Items();
  let sequence = 0;
  let openIndex = -1;
  let usage: UsageEvent | undefined;
  let finish: string | undefined;
  const emit = (type: string, data: Json) => sse(type, { type, sequence_number: sequence++, ...data });
  const start = () => {
    const response = envelope(context, head, { status: "in_progress" }, []);
    return emit("response.created", { response }) + emit("response.in_progress", { response });
  };
  const done = (index: number): string => {
    const item = items.output[index];
    if (!item) return "";
    let text = "";
    const where = { item_id: item.id, output_index: index, content_index: 0 };
    if (item.type === "message") {
      const part = (item.content as Json[])[0]!;
      text += emit("response.output_text.done", { ...where, text: part.text, logprobs: [] });
      text += emit("response.content_part.done", { ...where, part });
    } else if (item.type === "reasoning") {
      const part = (item.content as Json[])[0]!;
      text += emit("response.reasoning_text.done", { ...where, text: part.text });
    } else if (item.type === "function_call") {
      text += emit("response.function_call_arguments.done", {
        item_id: item.id,
        output_index: index,
        name: item.name,
        arguments: item.arguments,
      });
    }
    return text + emit("response.output_item.done", { output_index: index, item });
  };
  const render = (event: ChatEvent): string => {
    if (event.type === "usage") usage = event;
    if (event.type === "finish") finish = event.reason;
    if (event.type === "text" && !event.text) return "";
    const applied = items.apply(event);
    if (!applied) return "";
    const index = items.output.indexOf(applied.item);
    let text = "";
    if (applied.added) {
      if (openIndex >= 0) text += done(openIndex);
      openIndex = index;
      const empty =
        applied.item.type === "message"
          ? { ...applied.item, status: "in_progress", content: [] }
          : applied.item.type === "reasoning"
            ? { ...applied.item, content: [] }
            : { ...applied.item, arguments: "", status: "in_progress" };
      text += emit("response.output_item.added", { output_index: index, item: empty });
      if (applied.item.type === "message") {
        text += emit("response.content_part.added", {
          item_id: applied.item.id,
          output_index: index,
          content_index: 0,
          part: { type: "output_text", text: "", annotations: [] },
        });
      }
    }
    const delta = DELTA_EVENTS[event.type as keyof typeof DELTA_EVENTS];
    if (delta && "text" in event)
      text += emit(delta, {
        item_id: applied.item.id,
        output_index: index,
        ...(event.type === "tool_arguments" ? {} : { content_index: 0 }),
        delta: event.text,
        ...(event.type === "text" ? { logprobs: [] } : {}),
      });
    return text;
  };
  const end = (error?: string) => {
    const state = error
      ? { status: "failed", error: { code: "server_error", message: error } }
      : finishedState(finish, items, usageOf(usage, context));
    const text = openIndex >= 0 ? done(openIndex) : "";
    openIndex = -1;
    const response = envelope(context, head, state, items.output);
    return text + emit(`response.${state.status}`, { response });
  };
  return streamRenderer(start, render, end);
}
