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
import type { ChatEvent, Json, StreamRenderer, Translator } from "./types.ts";

type Block = Json & { type?: string };

const STOP_REASONS: Record<string, string> = {
  tool_calls: "tool_use",
  length: "max_tokens",
  stop: "end_turn",
  content_filter: "refusal",
};

/** Claude Code adds a per-request billing block to `system`: it changes every time and defeats prompt caching. */
const isBillingHeader = (text: string) => text.startsWith("x-anthropic-billing-header");

function systemText(system: unknown): string {
  if (typeof system === "string") return isBillingHeader(system) ? "" : system;
  if (!Array.isArray(system)) return "";
  return system
    .map((block: Block) => (typeof block.text === "string" ? block.text : ""))
    .filter((text) => text && !isBillingHeader(text))
    .join("\n\n");
}

function imagePart(block: Block): Json | undefined {
  const source = block.source as Json | undefined;
  if (source?.type === "base64")
    return { type: "image_url", image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  if (source?.type === "url") return { type: "image_url", image_url: { url: source.url } };
  return undefined;
}

function toChatMessages(messages: Json[], toolNames: Map<string, string>): Json[] {
  const out: Json[] = [];
  for (const message of messages) {
    const role = String(message.role);
    const content = message.content;
    if (typeof content === "string") {
      out.push({ role: role === "system" ? "system" : role, content });
      continue;
    }
    const blocks = (Array.isArray(content) ? content : []) as Block[];
    if (role === "assistant") {
      const text = blocks
        .filter((block) => block.type === "text")
        .map((block) => String(block.text))
        .join("");
      const calls = blocks
        .filter((block) => block.type === "tool_use")
        .map((block) => ({
          id: block.id,
          type: "function",
          function: {
            name: runtimeToolName(String(block.name), toolNames),
            arguments: JSON.stringify(block.input ?? {}),
          },
        }));
      out.push({
        role: "assistant",
        content: text || (calls.length ? null : ""),
        ...(calls.length ? { tool_calls: calls } : {}),
      });
      continue;
    }
    for (const block of blocks.filter((candidate) => candidate.type === "tool_result")) {
      const text = contentText(block.content);
      out.push({
        role: "tool",
        tool_call_id: block.tool_use_id,
        content: block.is_error ? `Error: ${text}` : text,
      });
    }
    const parts = blocks
      .filter((block) => block.type !== "tool_result")
      .map((block) =>
        block.type === "image"
          ? imagePart(block)
          : block.type === "text"
            ? { type: "text", text: block.text }
            : undefined,
      )
      .filter((part): part is Json => part !== undefined);
    if (parts.length === 0) continue;
    const onlyText = parts.every((part) => part.type === "text");
    out.push({
      role: role === "system" ? "system" : "user",
      content: onlyText ? parts.map((part) => part.text).join("\n") : parts,
    });
  }
  return out;
}

function toolChoice(choice: Json | undefined): unknown {
  if (!choice) return undefined;
  if (choice.type === "any") return "required";
  if (choice.type === "tool") return { type: "function", function: { name: choice.name } };
  return choice.type;
}

/**
 * rig's fixes for a Messages request a runtime takes natively: the billing block goes (it changes
 * every request and defeats the runtime's prompt cache).
 */
export function fixNativeMessages(body: Json): Json {
  if (!Array.isArray(body.system))
    return typeof body.system === "string" && isBillingHeader(body.system) ? { ...body, system: "" } : body;
  return {
    ...body,
    system: (body.system as Block[]).filter(
      (block) => !(typeof block.text === "string" && isBillingHeader(block.text)),
    ),
  };
}

export const anthropic: Translator = {
  dialect: "messages",
  toChat(body) {
    const toolNames = new Map<string, string>();
    const system = systemText(body.system);
    const messages = normaliseMessages([
      ...(system ? [{ role: "system", content: system }] : []),
      ...toChatMessages((body.messages as Json[] | undefined) ?? [], toolNames),
    ] as Array<{ role: string }>);
    const tools = ((body.tools as Block[] | undefined) ?? [])
      .filter((tool) => tool.input_schema || tool.type === "custom" || tool.type === undefined)
      .map((tool) => ({
        type: "function",
        function: {
          name: runtimeToolName(String(tool.name), toolNames),
          description: tool.description ?? "",
          parameters: tool.input_schema ?? { type: "object" },
        },
      }));
    const thinking = body.thinking as { type?: string; budget_tokens?: number } | undefined;
    const chat: Json = {
      model: body.model,
      messages,
      ...definedFields(body, {
        max_tokens: "max_tokens",
        temperature: "temperature",
        top_p: "top_p",
        top_k: "top_k",
        stop: "stop_sequences",
      }),
      ...(tools.length ? { tools } : {}),
      ...(tools.length && body.tool_choice ? { tool_choice: toolChoice(body.tool_choice as Json) } : {}),
      ...(thinking?.type ? { chat_template_kwargs: { enable_thinking: thinking.type === "enabled" } } : {}),
      ...chatStreaming(body),
    };
    return {
      chat,
      context: {
        model: String(body.model ?? ""),
        toolNames,
        toolsOffered: tools.length > 0,
        inputTokens: estimateTokens({ system, messages: body.messages, tools: body.tools }),
        thinking: thinking?.type === "enabled",
      },
    };
  },

  respond(events, context) {
    const content: Json[] = [];
    let stopReason = "end_turn";
    let usage = { input_tokens: context.inputTokens ?? 0, output_tokens: 0 } as Json;
    const calls = new Map<number, Json & { json: string }>();
    for (const event of events) {
      const last = content[content.length - 1];
      if (event.type === "text") {
        if (last?.type === "text") last.text = String(last.text) + event.text;
        else content.push({ type: "text", text: event.text });
      } else if (event.type === "reasoning") {
        if (last?.type === "thinking") last.thinking = String(last.thinking) + event.text;
        else content.push({ type: "thinking", thinking: event.text, signature: "" });
      } else if (event.type === "tool_call") {
        const block = { type: "tool_use", id: event.id, name: event.name, input: {}, json: "" };
        calls.set(event.index, block);
        content.push(block);
      } else if (event.type === "tool_arguments") {
        const block = calls.get(event.index);
        if (block) block.json += event.text;
      } else if (event.type === "finish") stopReason = STOP_REASONS[event.reason] ?? "end_turn";
      else if (event.type === "usage") {
        usage = {
          input_tokens: event.input,
          output_tokens: event.output,
          ...(event.cached ? { cache_read_input_tokens: event.cached } : {}),
        };
      }
    }
    for (const block of calls.values()) {
      try {
        block.input = JSON.parse(block.json || "{}");
      } catch {
        block.input = {};
      }
      delete (block as Partial<typeof block>).json;
    }
    return {
      id: `msg_${randomUUID().replace(/-/g, "")}`,
      type: "message",
      role: "assistant",
      model: context.model,
      content: content.filter((block) => block.type !== "text" || String(block.text).length > 0),
      stop_reason: stopReason,
      stop_sequence: null,
      usage,
    };
  },

  stream(context): StreamRenderer {
    let started = false;
    let index = -1;
    let open: "text" | "thinking" | "tool_use" | undefined;
    let stopReason = "end_turn";
    let usage: Json = { input_tokens: context.inputTokens ?? 0, output_tokens: 0 };
    const start = () => {
      if (started) return "";
      started = true;
      return sse("message_start", {
        type: "message_start",
        message: {
          id: `msg_${randomUUID().replace(/-/g, "")}`,
          type: "message",
          role: "assistant",
          model: context.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: context.inputTokens ?? 0, output_tokens: 0 },
        },
      });
    };
    const close = () => {
      if (!open) return "";
      const signature =
        open === "thinking"
          ? sse("content_block_delta", {
              type: "content_block_delta",
              index,
              delta: { type: "signature_delta", signature: "" },
            })
          : "";
      open = undefined;
      return `${signature}${sse("content_block_stop", { type: "content_block_stop", index })}`;
    };
    const begin = (kind: "text" | "thinking" | "tool_use", block: Json) => {
      const text = close();
      index++;
      open = kind;
      return text + sse("content_block_start", { type: "content_block_start", index, content_block: block });
    };
    const render = (event: ChatEvent): string => {
      switch (event.type) {
        case "text":
          if (!event.text) return "";
          return (
            (open === "text" ? "" : begin("text", { type: "text", text: "" })) +
            sse("content_block_delta", {
              type: "content_block_delta",
              index,
              delta: { type: "text_delta", text: event.text },
            })
          );
        case "reasoning":
          if (!event.text) return "";
          return (
            (open === "thinking"
              ? ""
              : begin("thinking", { type: "thinking", thinking: "", signature: "" })) +
            sse("content_block_delta", {
              type: "content_block_delta",
              index,
              delta: { type: "thinking_delta", thinking: event.text },
            })
          );
        case "tool_call":
          return begin("tool_use", { type: "tool_use", id: event.id, name: event.name, input: {} });
        case "tool_arguments":
          return sse("content_block_delta", {
            type: "content_block_delta",
            index,
            delta: { type: "input_json_delta", partial_json: event.text },
          });
        case "finish":
          stopReason = STOP_REASONS[event.reason] ?? "end_turn";
          return "";
        case "usage":
          usage = {
            input_tokens: event.input,
            output_tokens: event.output,
            ...(event.cached ? { cache_read_input_tokens: event.cached } : {}),
          };
          return "";
        case "error":
          return "";
      }
    };
    return {
      push(events) {
        let text = start();
        for (const event of events) text += render(event);
        return text;
      },
      end(error) {
        if (error)
          return `${start()}${close()}${sse("error", { type: "error", error: { type: "api_error", message: error } })}`;
        return (
          start() +
          close() +
          sse("message_delta", {
            type: "message_delta",
            delta: { stop_reason: stopReason, stop_sequence: null },
            usage,
          }) +
          sse("message_stop", { type: "message_stop" })
        );
      },
    };
  },
};
