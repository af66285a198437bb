import { contentText, definedFields, estimateTokens, runtimeToolName, translatedRequest } from "../tools.ts";
import type { Json, TranslationContext } from "../types.ts";

type Item = Json & { type?: string };

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

/** The request settings a `response` object repeats, where the client set them. */
const ECHOED = [
  "instructions",
  "metadata",
  "max_output_tokens",
  "parallel_tool_calls",
  "temperature",
  "tool_choice",
  "tools",
  "top_p",
];

function echoed(body: Json): Json {
  return Object.fromEntries(
    ECHOED.filter((key) => body[key] !== undefined && body[key] !== null).map((key) => [key, body[key]]),
  );
}

/** A Responses request as a Chat Completions request, and what its answer must remember. */
export function responsesToChat(body: Json): { chat: Json; context: TranslationContext } {
  const toolNames = new Map<string, string>();
  const instructions = typeof body.instructions === "string" ? body.instructions : "";
  const tools = toChatTools((body.tools as Item[] | undefined) ?? [], toolNames);
  const effort = (body.reasoning as { effort?: string } | undefined)?.effort;
  const thinking = Boolean(effort && !["none", "minimal"].includes(effort));
  const choice = body.tool_choice as string | Json | undefined;
  return translatedRequest(body, {
    system: instructions,
    messages: toChatMessages(body.input, toolNames),
    tools,
    settings: {
      ...definedFields(body, { max_tokens: "max_output_tokens", temperature: "temperature", top_p: "top_p" }),
      ...(tools.length && choice
        ? {
            tool_choice:
              typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } },
          }
        : {}),
      ...(effort ? { reasoning_effort: effort, chat_template_kwargs: { enable_thinking: thinking } } : {}),
    },
    toolNames,
    inputTokens: estimateTokens({ instructions, input: body.input, tools: body.tools }),
    thinking,
    echo: echoed(body),
  });
}

/** Codex opens a session with an empty request: answer it without waking a model. */
export function isWarmup(body: Json): boolean {
  return Array.isArray(body.input) ? body.input.length === 0 : body.input === undefined || body.input === "";
}
