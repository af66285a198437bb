import { newId } from "../ids.ts";
import type { ChatEvent, Json, TranslationContext, UsageEvent } from "../types.ts";
import { callId, endingOf, usageOf } from "./mapping.ts";

/** What a `response` object repeats of a request that did not set it: the API's defaults. */
const UNSET_SETTINGS: Json = {
  instructions: null,
  metadata: {},
  max_output_tokens: null,
  parallel_tool_calls: true,
  temperature: null,
  tool_choice: "auto",
  tools: [],
  top_p: null,
};

/** Where a response stands: its status, why it is incomplete or failed, and its usage once known. */
export interface ResponseState {
  status: string;
  incomplete_details?: Json | null;
  error?: Json | null;
  usage?: Json;
}

/** The `response` object every Responses answer and stream event carries. */
export function envelope(
  context: TranslationContext,
  head: { id: string; createdAt: number },
  state: ResponseState,
  output: Json[],
): Json {
  return {
    id: head.id,
    object: "response",
    created_at: head.createdAt,
    status: state.status,
    error: state.error ?? null,
    incomplete_details: state.incomplete_details ?? null,
    model: context.model,
    output,
    ...UNSET_SETTINGS,
    ...context.echo,
    ...(state.usage ? { usage: state.usage } : {}),
  };
}

/** A new response's id and creation time, shared by every event of its stream. */
export const responseHead = () => ({ id: newId("resp"), createdAt: Math.floor(Date.now() / 1000) });

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
              id: newId("msg"),
              status: "completed",
              role: "assistant",
              content: [{ type: "output_text", text: event.text, annotations: [] }],
            }
          : { type, id: newId("rs"), summary: [], content: [{ type: "reasoning_text", text: event.text }] };
      this.output.push(item);
      return { item, added: true };
    }
    if (event.type === "tool_call") {
      const item = {
        type: "function_call",
        id: newId("fc"),
        call_id: callId(event.id),
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

/** The state of a finished answer; an answer cut short leaves its last item incomplete too. */
export function finishedState(finish: string | undefined, items: Items, usage: Json): ResponseState {
  const ending = endingOf(finish);
  const last = items.output.at(-1);
  if (ending.status === "incomplete" && last) last.status = "incomplete";
  return { ...ending, usage };
}

/** A whole Responses answer: the output items in order, and the usage. */
export function respondResponse(events: ChatEvent[], context: TranslationContext): Json {
  const items = new Items();
  let usage: UsageEvent | undefined;
  let finish: string | undefined;
  for (const event of events) {
    items.apply(event);
    if (event.type === "usage") usage = event;
    if (event.type === "finish") finish = event.reason;
  }
  const state = finishedState(finish, items, usageOf(usage, context));
  return envelope(context, responseHead(), state, items.output);
}
