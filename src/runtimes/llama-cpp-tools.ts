import { randomUUID } from "node:crypto";
import type { ToolChoiceForcer } from "./types.ts";

// llama-server's chat endpoint builds a tool-call grammar only for templates its parser recognises,
// and refuses a request's own `grammar` next to `tools`; so a forced tool call goes through its
// /apply-template (the model's own prompt, tools included) and /completion under a JSON schema.

type JsonObject = Record<string, unknown>;

interface FunctionTool {
  type: "function";
  function: { name: string; parameters?: JsonObject };
}

function functionTools(chat: JsonObject): FunctionTool[] {
  const tools = Array.isArray(chat.tools) ? (chat.tools as FunctionTool[]) : [];
  return tools.filter((tool) => tool?.type === "function" && typeof tool.function?.name === "string");
}

/** The tools a call may use: every one for `required`, the named one for `{type: function}`. */
function allowedTools(chat: JsonObject): FunctionTool[] {
  const tools = functionTools(chat);
  const choice = chat.tool_choice as string | { type?: string; function?: { name?: string } } | undefined;
  if (choice === "required") return tools;
  if (typeof choice === "object" && choice?.type === "function")
    return tools.filter((tool) => tool.function.name === choice.function?.name);
  return [];
}

/** Sampling settings that mean the same on /completion as on /v1/chat/completions. */
const SAMPLING = [
  "temperature",
  "top_p",
  "top_k",
  "min_p",
  "seed",
  "repeat_penalty",
  "presence_penalty",
  "frequency_penalty",
];

export const llamaCppToolChoice: ToolChoiceForcer = {
  forces: (chat) => allowedTools(chat).length > 0,

  templateRequest: (chat) => ({
    path: "/apply-template",
    body: {
      messages: chat.messages,
      tools: chat.tools,
      ...(chat.chat_template_kwargs ? { chat_template_kwargs: chat.chat_template_kwargs } : {}),
    },
  }),

  completionRequest(chat, templated) {
    const calls = allowedTools(chat).map((tool) => ({
      type: "object",
      properties: {
        name: { const: tool.function.name },
        arguments: tool.function.parameters ?? { type: "object" },
      },
      required: ["name", "arguments"],
    }));
    const sampling = Object.fromEntries(
      SAMPLING.filter((key) => chat[key] !== undefined).map((key) => [key, chat[key]]),
    );
    return {
      path: "/completion",
      body: {
        prompt: templated.prompt,
        json_schema: calls.length === 1 ? calls[0] : { anyOf: calls },
        n_predict: chat.max_completion_tokens ?? chat.max_tokens ?? 4096,
        cache_prompt: true,
        ...sampling,
      },
    };
  },

  chatAnswer(chat, completion) {
    const text = String(completion.content ?? "");
    let call: { name?: unknown; arguments?: unknown } | undefined;
    try {
      call = JSON.parse(text);
    } catch {
      call = undefined;
    }
    const usage = {
      prompt_tokens: Number(completion.tokens_evaluated ?? 0),
      completion_tokens: Number(completion.tokens_predicted ?? 0),
      total_tokens: Number(completion.tokens_evaluated ?? 0) + Number(completion.tokens_predicted ?? 0),
    };
    const message =
      call && typeof call.name === "string"
        ? {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`,
                type: "function",
                function: { name: call.name, arguments: JSON.stringify(call.arguments ?? {}) },
              },
            ],
          }
        : // Cut off by the token limit, it is not a call, and its JSON is rig's wrapper, not the model's
          // words: the answer says only that the limit was hit.
          { role: "assistant", content: null };
    return {
      id: `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: chat.model,
      choices: [{ index: 0, message, finish_reason: "tool_calls" in message ? "tool_calls" : "length" }],
      usage,
    };
  },
};
