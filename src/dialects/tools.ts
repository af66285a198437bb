import { createHash } from "node:crypto";
import type { Json, TranslationContext } from "./types.ts";

const MAX_TOOL_NAME = 64;

/** A tool name the runtime accepts (≤ 64 characters), recorded so the answer can use the original. */
export function runtimeToolName(name: string, names: Map<string, string>): string {
  if (name.length <= MAX_TOOL_NAME) return name;
  const short = `${name.slice(0, MAX_TOOL_NAME - 9)}_${createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
  names.set(short, name);
  return short;
}

/** Flattens tool_result / message content (string or blocks) to the text runtimes take. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content))
    return content === undefined || content === null ? "" : JSON.stringify(content);
  return content
    .map((block) => {
      if (typeof block === "string") return block;
      const typed = block as { type?: string; text?: string };
      if (typeof typed.text === "string") return typed.text;
      if (typed.type === "image") return "[image]";
      return JSON.stringify(block);
    })
    .join("\n");
}

/** A rough token count for dialects whose runtime cannot count: about four characters a token. */
export function estimateTokens(value: unknown): number {
  return Math.ceil(JSON.stringify(value ?? "").length / 4);
}

type ChatMessage = { role: string; content?: unknown; tool_calls?: unknown[]; tool_call_id?: string };

/**
 * Merges consecutive messages of the same role (chat templates that demand alternation reject
 * user,user), and every system message into one leading system message.
 */
export function normaliseMessages(messages: ChatMessage[]): ChatMessage[] {
  const system = messages
    .filter((message) => message.role === "system")
    .map((message) => contentText(message.content))
    .filter(Boolean);
  const out: ChatMessage[] = system.length ? [{ role: "system", content: system.join("\n\n") }] : [];
  for (const message of messages) {
    if (message.role === "system") continue;
    const last = out[out.length - 1];
    if (
      last &&
      last.role === message.role &&
      message.role !== "tool" &&
      !last.tool_calls &&
      !message.tool_calls
    ) {
      last.content = mergeContent(last.content, message.content);
    } else if (
      last &&
      last.role === "assistant" &&
      message.role === "assistant" &&
      (last.tool_calls || message.tool_calls)
    ) {
      last.content = mergeContent(last.content, message.content);
      last.tool_calls = [...(last.tool_calls ?? []), ...(message.tool_calls ?? [])];
    } else out.push({ ...message });
  }
  return out;
}

function mergeContent(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) || Array.isArray(b)) {
    const parts = (value: unknown) =>
      Array.isArray(value) ? value : value ? [{ type: "text", text: String(value) }] : [];
    return [...parts(a), ...parts(b)];
  }
  return [a, b].filter((part) => part !== undefined && part !== null && part !== "").join("\n\n");
}

/** The fields a client set, under the names Chat Completions gives them (`{ chat_name: client_name }`). */
export function definedFields(body: Json, names: Record<string, string>): Json {
  return Object.fromEntries(
    Object.entries(names)
      .filter(([, clientName]) => body[clientName] !== undefined)
      .map(([chatName, clientName]) => [chatName, body[clientName]]),
  );
}

/** What a dialect's request translator found in the client's request, in Chat terms. */
export interface TranslatedParts {
  /** The system prompt, put first. */
  system: string;
  /** The conversation as Chat messages, before merging. */
  messages: Json[];
  tools: Json[];
  /** Chat settings: sampling, limits, tool choice, the template's thinking switch. */
  settings: Json;
  toolNames: Map<string, string>;
  inputTokens: number;
  thinking: boolean;
  echo?: Json;
}

/**
 * The Chat request every translator sends (messages merged, tools only when there are any, usage asked
 * for in a stream's last chunk, which the clients' final events need) and the context its answer needs.
 */
export function translatedRequest(
  body: Json,
  parts: TranslatedParts,
): { chat: Json; context: TranslationContext } {
  const messages = normaliseMessages([
    ...(parts.system ? [{ role: "system", content: parts.system }] : []),
    ...(parts.messages as ChatMessage[]),
  ]);
  return {
    chat: {
      model: body.model,
      messages,
      ...(parts.tools.length ? { tools: parts.tools } : {}),
      ...parts.settings,
      ...(body.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    },
    context: {
      model: String(body.model ?? ""),
      toolNames: parts.toolNames,
      toolsOffered: parts.tools.length > 0,
      inputTokens: parts.inputTokens,
      thinking: parts.thinking,
      ...(parts.echo ? { echo: parts.echo } : {}),
    },
  };
}
