import { requestMark } from "./prompt.ts";

// The prompt sets servers are compared on: a short built-in set (a short chat, a long prefill, a tool
// call) or the user's own chat requests, one JSON object a line. Pure: the CLI reads the file.

/** One request of a prompt set: its name, and the Chat Completions fields it sends (messages, tools, …). */
export interface BenchPrompt {
  name: string;
  request: Record<string, unknown>;
  /** True for the prompt whose `messages` are filler sized to fill `--context` (the long prefill). */
  fillsContext?: boolean;
}

/** What `settings.prompts` says when the built-in set was used. */
export const BUILT_IN = "built-in";

const SHORT_CHAT = "short chat";
export const LONG_PREFILL = "long prefill";
export const TOOL_CALL = "tool call";

/** The built-in set. The prefill's messages are made per request, sized to the context asked for. */
export const BUILT_IN_PROMPTS: readonly BenchPrompt[] = [
  {
    name: SHORT_CHAT,
    // Runs to the answer's token count, like the prefill, so generation speed is over the same length.
    request: {
      messages: [{ role: "user", content: "Tell me a short story about a lighthouse keeper." }],
      ignore_eos: true,
    },
  },
  { name: LONG_PREFILL, request: { ignore_eos: true }, fillsContext: true },
  {
    name: TOOL_CALL,
    // No ignore_eos: the answer ends where the call does, and the call is checked as it came back.
    request: {
      messages: [{ role: "user", content: "What is the weather in Paris right now? Use the tool." }],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "The current weather in a city",
            parameters: {
              type: "object",
              properties: { city: { type: "string", description: "the city's name" } },
              required: ["city"],
            },
          },
        },
      ],
    },
  },
];

/** Fields rig sets on every measured request: a line of a prompt file may not choose them. */
const RIG_FIELDS = ["model", "stream", "stream_options", "n"];

/**
 * A `--prompts` file: one chat request a line (blank lines and lines starting with `#` skipped), each
 * named `file:line`. Every bad line is reported with its file and line, not just the first.
 */
export function parsePromptFile(text: string, file: string): BenchPrompt[] | { errors: string[] } {
  const prompts: BenchPrompt[] = [];
  const errors: string[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const where = `${file}:${index + 1}`;
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch (error) {
      errors.push(`${where}: not JSON (${(error as Error).message})`);
      return;
    }
    const problem = requestProblem(request);
    if (problem) errors.push(`${where}: ${problem}`);
    else prompts.push({ name: where, request: request as Record<string, unknown> });
  });
  if (!errors.length && !prompts.length) errors.push(`${file}: no requests (one chat request a line)`);
  return errors.length ? { errors } : prompts;
}

/** What is wrong with a line as a chat request, or undefined when nothing is. */
function requestProblem(request: unknown): string | undefined {
  if (typeof request !== "object" || request === null || Array.isArray(request))
    return 'a chat request is a JSON object like {"messages": [{"role": "user", "content": "…"}]}';
  const { messages, max_tokens: maxTokens } = request as Record<string, unknown>;
  if (!Array.isArray(messages) || !messages.length) return "needs a non-empty `messages` list";
  const bad = messages.findIndex(
    (message) =>
      typeof message !== "object" ||
      message === null ||
      typeof (message as { role?: unknown }).role !== "string",
  );
  if (bad !== -1) return `messages[${bad}] needs a \`role\``;
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && (maxTokens as number) > 0))
    return "`max_tokens` must be a whole number above 0";
  const taken = RIG_FIELDS.filter((field) => field in request);
  if (taken.length) return `rig sets ${taken.map((field) => `\`${field}\``).join(", ")}; leave it out`;
  return undefined;
}

/**
 * The messages with a request number at the start of the first one, so no runtime's prompt cache (which
 * reuses the longest common prefix) serves a prompt measured in an earlier round.
 */
export function numberedMessages(messages: readonly unknown[], requestNumber: number): unknown[] {
  const mark = requestMark(requestNumber);
  const [first, ...rest] = messages as Array<Record<string, unknown>>;
  const content = first?.content;
  if (typeof content === "string") return [{ ...first, content: `${mark} ${content}` }, ...rest];
  if (Array.isArray(content))
    return [{ ...first, content: [{ type: "text", text: mark }, ...content] }, ...rest];
  return [...messages];
}

/** A call as it streamed back: the function's name and its arguments' text. */
export interface StreamedCall {
  name: string;
  arguments: string;
}

/** Well-formed: at least one call, each naming a function and with arguments that are a JSON object. */
export function wellFormedCalls(calls: readonly StreamedCall[]): boolean {
  return (
    calls.length > 0 &&
    calls.every((call) => {
      if (!call.name) return false;
      try {
        const parsed = JSON.parse(call.arguments || "{}") as unknown;
        return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
      } catch {
        return false;
      }
    })
  );
}
