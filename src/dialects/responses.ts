import { randomUUID } from "node:crypto";
import { sse } from "./sse.ts";
import {
  chatStreaming,
  contentText,
  definedFields,
  estimateTokens,
  normaliseMessages,
  runtimeToolName,
} from "./tools.ts";
import type { ChatEvent, Json, StreamRenderer, TranslationContext, Translator } from "./types.ts";

/** The Responses event that carries each kind of streamed text. */
const DELTA_EVENTS = {
  text: "response.output_text.delta",
  reasoning: "response.reasoning_text.delta",
  tool_arguments: "response.function_call_arguments.delta",
} as const;

type Item = Json & { type?: string };

const id = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, "")}`;

function messageContent(content: unknown): unknown {
  if (typeof content === "string") return content;
  const parts = ((Array.isArray(content) ? content : []) as Item[]).map((part) => {
    if (part.type === "input_image")
      return { type: "image_url", image_url: { url: part.image_url ?? (part as Json).url } };
    return { type: "text", text: String(part.text ?? "") };
  });
  return parts.every((part) => part.type === "text")
    ? parts.map((part) => (part as Json).text).join("\n")
    : parts;
}

function toChatMessages(input: unknown, toolNames: Map<string, string>): Json[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  const out: Json[] = [];
  for (const item of (Array.isArray(input) ? input : []) as Item[]) {
    if (item.type === "function_call") {
      out.push({
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: item.call_id,
            type: "function",
            function: {
              name: runtimeToolName(String(item.name), toolNames),
              arguments: String(item.arguments ?? "{}"),
            },
          },
        ],
      });
    } else if (item.type === "function_call_output") {
      out.push({ role: "tool", tool_call_id: item.call_id, content: contentText(item.output) });
    } else if (item.type === "message" || (item.type === undefined && item.role)) {
      const role = item.role === "developer" ? "system" : String(item.role);
      out.push({ role, content: messageContent(item.content) });
    }
  }
  return out;
}

/** Codex sends plain functions, MCP tools grouped in namespaces, and hosted tools no local runtime has. */
function toChatTools(tools: Item[], toolNames: Map<string, string>): Json[] {
  const functions = tools.flatMap((tool) =>
    tool.type === "namespace" ? ((tool.tools as Item[] | undefined) ?? []) : [tool],
  );
  return functions
    .filter((tool) => tool.type === "function")
    .map((tool) => ({
      type: "function",
      function: {
        name: runtimeToolName(String(tool.name), toolNames),
        description: tool.description ?? "",
        parameters: tool.parameters ?? { type: "object" },
      },
    }));
}

function usageOf(
  event: Extract<ChatEvent, { type: "usage" }> | undefined,
  context: TranslationContext,
): Json {
  const input = event?.input ?? context.inputTokens ?? 0;
  const output = event?.output ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: event?.cached ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}

function envelope(
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
class Items {
  readonly output: Json[] = [];
  private byCall = new Map<number, Json>();

  apply(event: ChatEvent): { item: Json; added: boolean } | undefined {
    const last = this.output[this.output.length - 1];
    if (event.type === "text") {
      if (last?.type === "message") {
        const part = (last.content as Json[])[0]!;
        part.text = String(part.text) + event.text;
        return { item: last, added: false };
      }
      const item = {
        type: "message",
        id: id("msg"),
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text: event.text, annotations: [] }],
      };
      this.output.push(item);
      return { item, added: true };
    }
    if (event.type === "reasoning") {
      if (last?.type === "reasoning") {
        const part = (last.content as Json[])[0]!;
        part.text = String(part.text) + event.text;
        return { item: last, added: false };
      }
      const item = {
        type: "reasoning",
        id: id("rs"),
        summary: [],
        content: [{ type: "reasoning_text", text: event.text }],
      };
      this.output.push(item);
      return { item, added: true };
    }
    if (event.type === "tool_call") {
      const item = {
        type: "function_call",
        id: id("fc"),
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

export const responses: Translator = {
  dialect: "responses",
  toChat(body) {
    const toolNames = new Map<string, string>();
    const instructions = typeof body.instructions === "string" ? body.instructions : "";
    const messages = normaliseMessages([
      ...(instructions ? [{ role: "system", content: instructions }] : []),
      ...toChatMessages(body.input, toolNames),
    ] as Array<{ role: string }>);
    const tools = toChatTools((body.tools as Item[] | undefined) ?? [], toolNames);
    const effort = (body.reasoning as { effort?: string } | undefined)?.effort;
    const choice = body.tool_choice as string | Json | undefined;
    const chat: Json = {
      model: body.model,
      messages,
      ...definedFields(body, { max_tokens: "max_output_tokens", temperature: "temperature", top_p: "top_p" }),
      ...(tools.length ? { tools } : {}),
      ...(tools.length && choice
        ? {
            tool_choice:
              typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } },
          }
        : {}),
      ...(effort
        ? {
            reasoning_effort: effort,
            chat_template_kwargs: { enable_thinking: !["none", "minimal"].includes(effort) },
          }
        : {}),
      ...chatStreaming(body),
    };
    return {
      chat,
      context: {
        model: String(body.model ?? ""),
        toolNames,
        toolsOffered: tools.length > 0,
        inputTokens: estimateTokens({ instructions, input: body.input, tools: body.tools }),
        thinking: Boolean(effort && !["none", "minimal"].includes(effort)),
      },
    };
  },

  respond(events, context) {
    const items = new Items();
    let usage: Extract<ChatEvent, { type: "usage" }> | undefined;
    for (const event of events) {
      items.apply(event);
      if (event.type === "usage") usage = event;
    }
    return envelope(context, id("resp"), "completed", items.output, usageOf(usage, context));
  },

  stream(context): StreamRenderer {
    const responseId = id("resp");
    const items = new Items();
    let sequence = 0;
    let started = false;
    let openIndex = -1;
    let usage: Extract<ChatEvent, { type: "usage" }> | undefined;
    const emit = (type: string, data: Json) => sse(type, { type, sequence_number: sequence++, ...data });
    const start = () => {
      if (started) return "";
      started = true;
      const response = envelope(context, responseId, "in_progress", []);
      return emit("response.created", { response }) + emit("response.in_progress", { response });
    };
    const done = (index: number): string => {
      const item = items.output[index];
      if (!item) return "";
      let text = "";
      if (item.type === "message") {
        const part = (item.content as Json[])[0]!;
        text += emit("response.output_text.done", {
          item_id: item.id,
          output_index: index,
          content_index: 0,
          text: part.text,
        });
        text += emit("response.content_part.done", {
          item_id: item.id,
          output_index: index,
          content_index: 0,
          part,
        });
      } else if (item.type === "reasoning") {
        const part = (item.content as Json[])[0]!;
        text += emit("response.reasoning_text.done", {
          item_id: item.id,
          output_index: index,
          content_index: 0,
          text: part.text,
        });
      } else if (item.type === "function_call") {
        text += emit("response.function_call_arguments.done", {
          item_id: item.id,
          output_index: index,
          arguments: item.arguments,
        });
      }
      return text + emit("response.output_item.done", { output_index: index, item });
    };
    const render = (event: ChatEvent): string => {
      if (event.type === "usage") usage = event;
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
        });
      return text;
    };
    return {
      push(events) {
        let text = start();
        for (const event of events) text += render(event);
        return text;
      },
      end(error) {
        let text = start() + (openIndex >= 0 ? done(openIndex) : "");
        openIndex = -1;
        if (error) {
          return (
            text +
            emit("response.failed", {
              response: {
                ...envelope(context, responseId, "failed", items.output),
                error: { code: "server_error", message: error },
              },
            })
          );
        }
        text += emit("response.completed", {
          response: envelope(context, responseId, "completed", items.output, usageOf(usage, context)),
        });
        return text;
      },
    };
  },
};

/** Codex opens a session with an empty request: answer it without waking a model. */
export function isWarmup(body: Json): boolean {
  return Array.isArray(body.input) ? body.input.length === 0 : body.input === undefined || body.input === "";
}
