import { randomUUID } from "node:crypto";
import type { ChatEvent, Json, TranslationContext, UsageEvent } from "../types.ts";
import { FINISHED_STATUS, usageOf } from "./mapping.ts";

export const itemId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, "")}`;

/** The `response` object every Responses answer and stream event carries. */
export function envelope(
  context: TranslationContext,
  responseId: string,
  status: string,
  output: Json[],
  usage?: Json,
): Json {
  return {
    id: responseId,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    model: context.model,
    output,
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: [],
    ...(usage ? { usage } : {}),
  };
}

/** Assembles output items from events, for the whole response and for the stream's `done` events. */
export class Items {
  readonly output: Json[] = [];
  private byCall = new Map<number, Json>();

  apply(event: ChatEvent): { item: Json; added: boolean } | undefined {
    if (event.type === "text" || event.type === "reasoning") {
      // Consecutive text (or reasoning) grows the last item; anything in between starts a new one.
      const type = event.type === "text" ? "message" : "reasoning";
      const last = this.output[this.output.length - 1];
      if (last?.type === type) {
        const part = (last.content as Json[])[0]!;
        part.text = String(part.text) + event.text;
        return { item: last, added: false };
      }
      const item =
        type === "message"
          ? {
              type,
              id: itemId("msg"),
              status: "completed",
              role: "assistant",
              content: [{ type: "output_text", text: event.text, annotations: [] }],
            }
          : { type, id: itemId("rs"), summary: [], content: [{ type: "reasoning_text", text: event.text }] };
      this.output.push(item);
      return { item, added: true };
    }
    if (event.type === "tool_call") {
      const item = {
        type: "function_call",
        id: itemId("fc"),
        call_id: event.id,
        name: event.name,
        arguments: "",
        status: "completed",
      };
      this.byCall.set(event.index, item);
      this.output.push(item);
      return { item, added: true };
    }
    if (event.type === "tool_arguments") {
      const item = this.byCall.get(event.index);
      if (item) item.arguments = String(item.arguments) + event.text;
      return item ? { item, added: false } : undefined;
    }
    return undefined;
  }
}

/** A whole Responses answer: the output items in order, and the usage. */
export function respondResponse(events: ChatEvent[], context: TranslationContext): Json {
  const items = new Items();
  let usage: UsageEvent | undefined;
  for (const event of events) {
    items.apply(event);
    if (event.type === "usage") usage = event;
  }
  return envelope(context, itemId("resp"), FINISHED_STATUS, items.output, usageOf(usage, context));
}
