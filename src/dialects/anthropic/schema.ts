import { z } from "zod";
import type { Invalid, Json, RequestKind } from "../types.ts";
import {
  checkedByType,
  type Expected,
  field,
  firstProblem,
  type Problem,
  requiredWhen,
} from "../validation.ts";

// The shapes of Anthropic's Messages API (https://docs.anthropic.com/en/api/messages), written once:
// what a request must be before rig translates it, and what every answer and stream event rig
// renders must be (the contract and replay tests check rig's output against these).

const block = field.object({ type: field.string() });
const content = field.stringOrList(block);

const message = field.object({
  // Claude Code sends `system` turns inside `messages`; the API takes them.
  role: z.enum(["user", "assistant", "system"]),
  content,
});

const tool = field
  .object({
    name: field.string(),
    type: field.string().optional(),
    input_schema: field.object({}).optional(),
  })
  .superRefine(requiredWhen("input_schema", (tool) => tool.type === undefined || tool.type === "custom"));

const countRequest = field.object({
  model: field.string(),
  messages: field
    .list(message)
    .refine((messages) => messages.length > 0, "at least one message is required")
    .superRefine((messages, context) => {
      messages.forEach((message, index) => {
        const last = index === messages.length - 1 && message.role === "assistant";
        if (!last && message.content.length === 0)
          context.addIssue({
            code: "custom",
            path: [index],
            message:
              "all messages must have non-empty content except for the optional final assistant message",
          });
      });
    }),
  system: content.optional(),
  tools: field.list(tool).optional(),
  tool_choice: field
    .object({ type: z.enum(["auto", "any", "tool", "none"]), name: field.string().optional() })
    .superRefine(requiredWhen("name", (choice) => choice.type === "tool"))
    .optional(),
  thinking: checkedByType({ enabled: field.object({ budget_tokens: field.integer().min(1) }) }).optional(),
});

/** What `/v1/messages` requires; types of optional fields are checked where the API checks them. */
export const messagesRequestSchema = countRequest.extend({
  max_tokens: field.integer().min(1),
  stream: field.boolean().optional(),
  temperature: field.number().optional(),
  top_p: field.number().optional(),
  top_k: field.integer().optional(),
  stop_sequences: field.list(field.string()).optional(),
  metadata: field.object({}).optional(),
});

/** What `/v1/messages/count_tokens` requires: a request without the generation settings. */
export const countTokensRequestSchema = countRequest;

const NOUNS: Record<Expected, string> = {
  string: "a valid string",
  integer: "a valid integer",
  number: "a valid number",
  boolean: "a valid boolean",
  list: "a valid list",
  object: "a valid dictionary",
  "string or list": "a valid string or a valid list",
  "string or object": "a valid string or a valid dictionary",
};

const quoted = (values: readonly unknown[]) =>
  values.length > 1
    ? `${values
        .slice(0, -1)
        .map((value) => `'${value}'`)
        .join(", ")} or '${values.at(-1)}'`
    : `'${values[0]}'`;

function says(problem: Problem): string {
  switch (problem.kind) {
    case "missing":
      return "Field required";
    case "type":
      return `Input should be ${NOUNS[problem.expected]}`;
    case "value":
      return `Input should be ${quoted(problem.allowed)}`;
    case "minimum":
      return `Input should be greater than or equal to ${problem.minimum}`;
    case "rule":
      return problem.message;
  }
}

/** The first thing wrong with a Messages request, worded as Anthropic's API words it
 *  (`messages.0.role: Input should be 'user', 'assistant' or 'system'`). */
export function validateMessages(body: Json, kind: RequestKind = "answer"): Invalid | undefined {
  const problem = firstProblem(kind === "count" ? countTokensRequestSchema : messagesRequestSchema, body);
  if (!problem) return undefined;
  const at = problem.path.join(".");
  return { field: at, message: `${at}: ${says(problem)}` };
}

// The answers. Every usage carries the cache counts as integers (Claude Code's context accounting
// reads them); `input_tokens` excludes the tokens read from the cache, as Anthropic counts it.

const count = z.int().min(0);

export const messagesUsageSchema = z.strictObject({
  input_tokens: count,
  cache_creation_input_tokens: count,
  cache_read_input_tokens: count,
  output_tokens: count,
});

const contentBlock = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text"), text: z.string() }),
  z.strictObject({ type: z.literal("thinking"), thinking: z.string(), signature: z.string() }),
  z.strictObject({
    type: z.literal("tool_use"),
    id: z.string().regex(/^toolu_./),
    name: z.string().min(1),
    input: z.record(z.string(), z.unknown()),
  }),
]);

/** Every `stop_reason` the API has. */
const stopReason = z.enum([
  "end_turn",
  "max_tokens",
  "stop_sequence",
  "tool_use",
  "pause_turn",
  "refusal",
  "model_context_window_exceeded",
]);

/** A whole Messages answer. */
export const messagesAnswerSchema = z.strictObject({
  id: z.string().regex(/^msg_/),
  type: z.literal("message"),
  role: z.literal("assistant"),
  model: z.string(),
  content: z.array(contentBlock),
  stop_reason: stopReason,
  stop_sequence: z.string().nullable(),
  usage: messagesUsageSchema,
});

const index = z.int().min(0);

/** One event of a Messages stream (the `event:` name is the data's `type`). */
export const messagesStreamEventSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("message_start"),
    message: messagesAnswerSchema.extend({
      content: z.array(contentBlock).length(0),
      stop_reason: z.null(),
      stop_sequence: z.null(),
    }),
  }),
  z.strictObject({ type: z.literal("content_block_start"), index, content_block: contentBlock }),
  z.strictObject({
    type: z.literal("content_block_delta"),
    index,
    delta: z.discriminatedUnion("type", [
      z.strictObject({ type: z.literal("text_delta"), text: z.string() }),
      z.strictObject({ type: z.literal("thinking_delta"), thinking: z.string() }),
      z.strictObject({ type: z.literal("signature_delta"), signature: z.string() }),
      z.strictObject({ type: z.literal("input_json_delta"), partial_json: z.string() }),
    ]),
  }),
  z.strictObject({ type: z.literal("content_block_stop"), index }),
  z.strictObject({
    type: z.literal("message_delta"),
    delta: z.strictObject({ stop_reason: stopReason, stop_sequence: z.string().nullable() }),
    usage: messagesUsageSchema,
  }),
  z.strictObject({ type: z.literal("message_stop") }),
  z.strictObject({ type: z.literal("ping") }),
  z.object({ type: z.literal("error"), error: z.object({ type: z.string(), message: z.string() }) }),
]);
