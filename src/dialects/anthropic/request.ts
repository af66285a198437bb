import { contentText, definedFields, estimateTokens, runtimeToolName, translatedRequest } from "../tools.ts";
import type { Json, TranslationContext } from "../types.ts";

type Block = Json & { type?: string };

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

/** A Messages request as a Chat Completions request, and what its answer must remember. */
export function messagesToChat(body: Json): { chat: Json; context: TranslationContext } {
  const toolNames = new Map<string, string>();
  const system = systemText(body.system);
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
  const thinking = (body.thinking as { type?: string } | undefined)?.type;
  return translatedRequest(body, {
    system,
    messages: toChatMessages((body.messages as Json[] | undefined) ?? [], toolNames),
    tools,
    settings: {
      ...definedFields(body, {
        max_tokens: "max_tokens",
        temperature: "temperature",
        top_p: "top_p",
        top_k: "top_k",
        stop: "stop_sequences",
      }),
      ...(tools.length && body.tool_choice ? { tool_choice: toolChoice(body.tool_choice as Json) } : {}),
      ...thinkingSwitch(thinking),
    },
    toolNames,
    inputTokens: estimateTokens({ system, messages: body.messages, tools: body.tools }),
    thinking: thinking === "enabled" || thinking === "adaptive",
  });
}

/** `count_tokens` for a runtime that cannot count: an estimate from the request's size. */
export function countTokens(body: Json): Json {
  return {
    input_tokens: estimateTokens({ system: body.system, messages: body.messages, tools: body.tools }),
  };
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

/**
 * The template's thinking switch for Anthropic's `thinking.type`: `enabled` and `disabled` set it;
 * `adaptive` (Claude Code's default: the model decides) leaves the template's own default, while the
 * answer still turns `<think>` into thinking blocks.
 */
function thinkingSwitch(type: string | undefined): Json {
  if (type === "enabled" || type === "disabled")
    return { chat_template_kwargs: { enable_thinking: type === "enabled" } };
  return {};
}
