import { estimateTokens, runtimeToolName, translatedRequest } from "../tools.ts";
import type { Json, TranslationContext } from "../types.ts";
import { jsonNames, jsonSchemaOf } from "./proto.ts";

// A Gemini request names its model in the path and streams by its method; the gateway puts both into
// the body (`model`, `stream: true`) before a translator reads it.

type Part = Json & {
  text?: string;
  thought?: boolean;
  inlineData?: { mimeType?: string; data?: string };
  fileData?: { fileUri?: string };
  functionCall?: { id?: string; name?: string; args?: unknown };
  functionResponse?: { id?: string; name?: string; response?: Json };
};
type Content = { role?: string; parts?: Part[] };

const partsOf = (content: unknown): Part[] => ((content as Content | undefined)?.parts ?? []) as Part[];

/** The text of a turn's parts, thoughts left out: a model's parts are pieces of one answer (as it
 *  streamed them), a user's are separate texts. */
const textOf = (parts: Part[], separator = "\n") =>
  parts
    .filter((part) => typeof part.text === "string" && !part.thought)
    .map((part) => part.text)
    .join(separator);

/** A function result as the text a runtime takes: Gemini CLI's `{output}` is its text; anything else its JSON. */
function resultText(response: Json | undefined): string {
  if (response && Object.keys(response).length === 1 && typeof response.output === "string")
    return response.output;
  if (response && Object.keys(response).length === 1 && typeof response.error === "string")
    return `Error: ${response.error}`;
  return JSON.stringify(response ?? {});
}

function mediaPart(part: Part): Json | undefined {
  if (part.inlineData?.data && part.inlineData.mimeType?.startsWith("image/"))
    return {
      type: "image_url",
      image_url: { url: `data:${part.inlineData.mimeType};base64,${part.inlineData.data}` },
    };
  if (part.fileData?.fileUri) return { type: "image_url", image_url: { url: part.fileData.fileUri } };
  return undefined;
}

/**
 * Gemini's turns as Chat messages. Function calls without an id (Gemini's own answers have none) get
 * one from their place in the conversation, so every turn of a conversation names them alike and the
 * runtime's prompt cache keeps its prefix; a result without an id answers the oldest open call of its
 * name.
 */
function toChatMessages(contents: Content[], toolNames: Map<string, string>): Json[] {
  const out: Json[] = [];
  const open = new Map<string, string[]>();
  contents.forEach((content, turn) => {
    const parts = partsOf(content);
    if (content.role === "model") {
      const calls = parts
        .filter((part) => part.functionCall)
        .map((part, index) => {
          const call = part.functionCall!;
          const id = call.id || `call_${turn}_${index}`;
          const name = String(call.name);
          open.set(name, [...(open.get(name) ?? []), id]);
          return {
            id,
            type: "function",
            function: {
              name: runtimeToolName(name, toolNames),
              arguments: JSON.stringify(call.args ?? {}),
            },
          };
        });
      const text = textOf(parts, "");
      out.push({
        role: "assistant",
        content: text || (calls.length ? null : ""),
        ...(calls.length ? { tool_calls: calls } : {}),
      });
      return;
    }
    parts
      .filter((part) => part.functionResponse)
      .forEach((part, index) => {
        const result = part.functionResponse!;
        const pending = open.get(String(result.name)) ?? [];
        const id = result.id || pending[0] || `call_${turn}_${index}`;
        open.set(
          String(result.name),
          pending.filter((candidate) => candidate !== id),
        );
        out.push({ role: "tool", tool_call_id: id, content: resultText(result.response) });
      });
    const media = parts.map(mediaPart).filter((part): part is Json => part !== undefined);
    const text = textOf(parts);
    if (media.length)
      out.push({ role: "user", content: [...(text ? [{ type: "text", text }] : []), ...media] });
    else if (text) out.push({ role: "user", content: text });
  });
  return out;
}

interface Declaration {
  name?: string;
  description?: string;
  parameters?: unknown;
  parametersJsonSchema?: unknown;
}

function toChatTools(tools: unknown, allowed: string[] | undefined, toolNames: Map<string, string>): Json[] {
  return ((tools as Array<{ functionDeclarations?: Declaration[] }> | undefined) ?? [])
    .flatMap((tool) => tool.functionDeclarations ?? [])
    .filter((declaration) => !allowed?.length || allowed.includes(String(declaration.name)))
    .map((declaration) => ({
      type: "function",
      function: {
        name: runtimeToolName(String(declaration.name), toolNames),
        description: declaration.description ?? "",
        parameters: declaration.parametersJsonSchema ??
          jsonSchemaOf(declaration.parameters) ?? { type: "object", properties: {} },
      },
    }));
}

/** `toolConfig` as a Chat `tool_choice`: ANY with one allowed name calls that function. */
function toolChoice(mode: string | undefined, allowed: string[] | undefined, toolNames: Map<string, string>) {
  if (mode === "NONE") return "none";
  if (mode !== "ANY") return undefined;
  if (allowed?.length === 1)
    return { type: "function", function: { name: runtimeToolName(allowed[0]!, toolNames) } };
  return "required";
}

interface GenerationConfig {
  temperature?: number;
  topP?: number;
  topK?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseMimeType?: string;
  responseSchema?: unknown;
  responseJsonSchema?: unknown;
  thinkingConfig?: { includeThoughts?: boolean; thinkingBudget?: number; thinkingLevel?: string };
}

/** Sampling and output settings as Chat fields, where the client set them. */
function generationFields(config: GenerationConfig): Json {
  const chosen: Json = {
    temperature: config.temperature,
    top_p: config.topP,
    top_k: config.topK,
    max_tokens: config.maxOutputTokens,
    stop: config.stopSequences,
    seed: config.seed,
    presence_penalty: config.presencePenalty,
    frequency_penalty: config.frequencyPenalty,
  };
  const schema = config.responseJsonSchema ?? jsonSchemaOf(config.responseSchema);
  if (config.responseMimeType === "application/json")
    chosen.response_format = schema
      ? { type: "json_schema", json_schema: { name: "response", schema } }
      : { type: "json_object" };
  const thinking = config.thinkingConfig;
  if (thinking?.thinkingBudget !== undefined || thinking?.thinkingLevel !== undefined)
    chosen.chat_template_kwargs = { enable_thinking: thinking.thinkingBudget !== 0 };
  return Object.fromEntries(Object.entries(chosen).filter(([, value]) => value !== undefined));
}

/** A Gemini request as a Chat Completions request, and what its answer must remember. */
export function geminiToChat(request: Json): { chat: Json; context: TranslationContext } {
  const body = jsonNames(request);
  const toolNames = new Map<string, string>();
  const contents = (body.contents as Content[] | undefined) ?? [];
  const calling = (
    body.toolConfig as { functionCallingConfig?: { mode?: string; allowedFunctionNames?: string[] } }
  )?.functionCallingConfig;
  const allowed = calling?.mode === "ANY" ? calling.allowedFunctionNames : undefined;
  const tools = toChatTools(body.tools, allowed, toolNames);
  const choice = tools.length ? toolChoice(calling?.mode, allowed, toolNames) : undefined;
  const config = (body.generationConfig ?? {}) as GenerationConfig;
  return translatedRequest(body, {
    system: textOf(partsOf(body.systemInstruction)),
    messages: toChatMessages(contents, toolNames),
    tools,
    settings: { ...generationFields(config), ...(choice ? { tool_choice: choice } : {}) },
    toolNames,
    inputTokens: countInput(body),
    thinking: config.thinkingConfig?.includeThoughts === true,
  });
}

function countInput(body: Json): number {
  return estimateTokens({ system: body.systemInstruction, contents: body.contents, tools: body.tools });
}

/** `:countTokens` answered by estimate (no local runtime counts Gemini requests). */
export function countTokens(request: Json): Json {
  const body = jsonNames(request);
  const inner = (body.generateContentRequest as Json | undefined) ?? body;
  return { totalTokens: countInput(inner) };
}
