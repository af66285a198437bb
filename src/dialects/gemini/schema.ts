import { z } from "zod";
import type { Invalid, Json, RequestKind } from "../types.ts";
import { type Expected, field, firstProblem, type Problem } from "../validation.ts";
import { jsonNames, snake } from "./proto.ts";

// The shapes of Google's Gemini API (https://ai.google.dev/api/generate-content), written once: what
// a request must be before rig translates it, and what every answer and stream chunk rig renders
// must be (the contract tests check rig's output against these). Requests are read under their JSON
// field names (proto.ts renames `snake_case` ones first).

const functionCall = field.object({ name: field.string(), args: field.object({}).optional() });
const functionResponse = field.object({ name: field.string(), response: field.object({}) });

const part = field.object({
  text: field.string().optional(),
  thought: field.boolean().optional(),
  inlineData: field.object({ mimeType: field.string(), data: field.string() }).optional(),
  fileData: field.object({ fileUri: field.string() }).optional(),
  functionCall: functionCall.optional(),
  functionResponse: functionResponse.optional(),
});

const ROLES = ["user", "model", "function"] as const;

const content = field.object({
  role: z.enum(ROLES).optional(),
  parts: field.list(part).refine((parts) => parts.length > 0, "contents.parts must not be empty."),
});

const functionDeclaration = field.object({
  name: field.string().regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/, {
    error:
      "Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:) or dashes (-), with a maximum length of 128.",
  }),
  description: field.string().optional(),
  parameters: field.object({}).optional(),
});

const MODES = ["MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"] as const;

const generateFields = {
  systemInstruction: field.object({ parts: field.list(part) }).optional(),
  tools: field
    .list(field.object({ functionDeclarations: field.list(functionDeclaration).optional() }))
    .optional(),
  toolConfig: field
    .object({
      functionCallingConfig: field
        .object({
          mode: z.enum(MODES).optional(),
          allowedFunctionNames: field.list(field.string()).optional(),
        })
        .optional(),
    })
    .optional(),
  generationConfig: field
    .object({
      temperature: field.number().optional(),
      topP: field.number().optional(),
      topK: field.number().optional(),
      candidateCount: field.integer().min(1).optional(),
      maxOutputTokens: field.integer().min(1).optional(),
      stopSequences: field.list(field.string()).optional(),
      seed: field.integer().optional(),
      presencePenalty: field.number().optional(),
      frequencyPenalty: field.number().optional(),
      responseMimeType: field.string().optional(),
      thinkingConfig: field
        .object({
          includeThoughts: field.boolean().optional(),
          thinkingBudget: field.integer().optional(),
          thinkingLevel: field.string().optional(),
        })
        .optional(),
    })
    .optional(),
};

/** What `:generateContent` and `:streamGenerateContent` require. */
export const generateContentRequestSchema = field.object({
  contents: field.list(content).refine((contents) => contents.length > 0, "contents is not specified"),
  ...generateFields,
});

/** What `:countTokens` requires: contents, or a whole `generateContentRequest`. */
export const countTokensRequestSchema = field
  .object({
    contents: field.list(content).optional(),
    generateContentRequest: generateContentRequestSchema.optional(),
  })
  .superRefine((request, context) => {
    if (request.contents === undefined && request.generateContentRequest === undefined)
      context.addIssue({ code: "invalid_type", expected: "nonoptional", path: ["contents"], message: "" });
  });

/** The proto type Google names in a type error, by what rig expected. */
const PROTO_TYPES: Record<Expected, string> = {
  string: "TYPE_STRING",
  integer: "TYPE_INT32",
  number: "TYPE_FLOAT",
  boolean: "TYPE_BOOL",
  list: "TYPE_MESSAGE",
  object: "TYPE_MESSAGE",
  "string or list": "TYPE_MESSAGE",
  "string or object": "TYPE_MESSAGE",
};

/** The enum types Google names in a value error, by field. */
const ENUM_TYPES: Record<string, string> = {
  mode: "type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode",
};

type Path = Array<string | number>;

/** A field as the JSON names it (`contents[0].parts`), or as Google's messages do (`contents[0].parts`, snake_case). */
const pathOf = (path: Path, name: (key: string) => string = (key) => key) =>
  path.reduce<string>(
    (named, key) =>
      typeof key === "number" ? `${named}[${key}]` : named ? `${named}.${name(key)}` : name(key),
    "",
  );

function says(problem: Problem, request: string): string {
  const at = pathOf(problem.path, snake);
  const isRole = problem.path.at(-1) === "role";
  switch (problem.kind) {
    case "missing":
      return `* ${request}.${at}: ${at.split(/[.[]/).at(-1)} is not specified`;
    case "type":
      if (isRole) return "Please use a valid role: user, model.";
      return `Invalid value at '${at}' (${PROTO_TYPES[problem.expected]}), ${JSON.stringify(problem.value)}`;
    case "value":
      if (isRole) return "Please use a valid role: user, model.";
      return `Invalid value at '${at}' (${ENUM_TYPES[String(problem.path.at(-1))] ?? "TYPE_ENUM"}), ${JSON.stringify(problem.value)}`;
    case "minimum":
      return `* ${request}.${at}: must be at least ${problem.minimum}`;
    case "rule":
      return `* ${request}.${at}: ${problem.message}`;
  }
}

/** The first thing wrong with a Gemini request, worded as Google's API words it
 *  (`* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.`). */
export function validateGemini(body: Json, kind: RequestKind = "answer"): Invalid | undefined {
  const count = kind === "count";
  const problem = firstProblem(
    count ? countTokensRequestSchema : generateContentRequestSchema,
    jsonNames(body),
  );
  if (!problem) return undefined;
  return {
    field: pathOf(problem.path),
    message: says(problem, count ? "CountTokensRequest" : "GenerateContentRequest"),
  };
}

// The answers.

const count = z.int().min(0);

export const geminiUsageSchema = z.strictObject({
  promptTokenCount: count,
  candidatesTokenCount: count,
  totalTokenCount: count,
  cachedContentTokenCount: count.optional(),
  thoughtsTokenCount: count.optional(),
});

const answerPart = z.union([
  z.strictObject({ text: z.string(), thought: z.literal(true).optional() }),
  z.strictObject({
    functionCall: z.strictObject({
      id: z.string().min(1),
      name: z.string().min(1),
      args: z.record(z.string(), z.unknown()),
    }),
  }),
]);

/** Every `finishReason` the API has. */
const finishReasonSchema = z.enum([
  "FINISH_REASON_UNSPECIFIED",
  "STOP",
  "MAX_TOKENS",
  "SAFETY",
  "RECITATION",
  "LANGUAGE",
  "OTHER",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "MALFORMED_FUNCTION_CALL",
]);

const candidate = z.strictObject({
  content: z.strictObject({ role: z.literal("model"), parts: z.array(answerPart) }),
  finishReason: finishReasonSchema.optional(),
  index: z.literal(0),
});

/** A whole `GenerateContentResponse`, and each chunk of a stream (only the last has a finishReason). */
export const geminiAnswerSchema = z.strictObject({
  candidates: z.array(candidate).length(1),
  usageMetadata: geminiUsageSchema.optional(),
  modelVersion: z.string(),
  responseId: z.string().min(1),
});

/** An error, in a body or as a stream's last chunk. */
export const geminiErrorSchema = z.object({
  error: z.object({ code: z.int(), message: z.string(), status: z.string() }),
});

/** What `GET /v1beta/models` lists. */
export const geminiModelListSchema = z.strictObject({
  models: z.array(
    z.object({
      name: z.string().startsWith("models/"),
      displayName: z.string(),
      inputTokenLimit: count.optional(),
      supportedGenerationMethods: z.array(z.string()),
    }),
  ),
});
