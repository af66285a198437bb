import { z } from "zod";
import type { Invalid, Json } from "../types.ts";
import { checkedByType, type Expected, field, firstProblem, type Problem } from "../validation.ts";

// The shapes of OpenAI's Responses API (https://platform.openai.com/docs/api-reference/responses),
// written once: what a request must be before rig translates it, and what every answer and stream
// event rig renders must be (the contract and replay tests check rig's output against these).

const part = field.object({ type: field.string() });
const message = field.object({
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: field.stringOrList(part),
});

/** An input item: a message (typed or not), a function call and its output; other items pass. */
const inputItem = checkedByType(
  {
    message,
    function_call: field.object({ call_id: field.string(), name: field.string(), arguments: field.string() }),
    function_call_output: field.object({ call_id: field.string(), output: field.stringOrList(part) }),
  },
  message,
);

/** What `/v1/responses` requires; optional fields are checked where the API checks them (null = unset). */
export const responsesRequestSchema = field.object({
  model: field.string(),
  // Absent or empty: Codex's warm-up, which rig answers itself.
  input: field.stringOrList(inputItem).optional(),
  instructions: field.string().nullish(),
  max_output_tokens: field.integer().min(1).nullish(),
  temperature: field.number().nullish(),
  top_p: field.number().nullish(),
  stream: field.boolean().nullish(),
  parallel_tool_calls: field.boolean().nullish(),
  tools: field.list(checkedByType({ function: field.object({ name: field.string() }) })).nullish(),
  tool_choice: field
    .modeOrObject(
      ["none", "auto", "required"],
      checkedByType({ function: field.object({ name: field.string() }) }),
    )
    .nullish(),
  reasoning: field.object({}).nullish(),
  metadata: field.object({}).nullish(),
});

const NOUNS: Record<Expected, string> = {
  string: "a string",
  integer: "an integer",
  number: "a decimal",
  boolean: "a boolean",
  list: "an array",
  object: "an object",
  "string or list": "one of a string or an array",
  "string or object": "one of a string or an object",
};

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a decimal";
  if (typeof value === "object") return "an object";
  return typeof value === "boolean" ? "a boolean" : "a string";
}

/** A field as OpenAI names it in errors: `input[0].content`. */
const param = (path: Array<string | number>) =>
  path.reduce<string>(
    (named, key) => (typeof key === "number" ? `${named}[${key}]` : named ? `${named}.${key}` : key),
    "",
  );

const listed = (values: readonly unknown[]) =>
  values.length > 1
    ? `${values
        .slice(0, -1)
        .map((value) => `'${value}'`)
        .join(", ")}, and '${values.at(-1)}'`
    : `'${values[0]}'`;

function says(problem: Problem, at: string): string {
  switch (problem.kind) {
    case "missing":
      return `Missing required parameter: '${at}'.`;
    case "type":
      return `Invalid type for '${at}': expected ${NOUNS[problem.expected]}, but got ${kindOf(problem.value)} instead.`;
    case "value":
      return `Invalid value: '${problem.value}'. Supported values are: ${listed(problem.allowed)}.`;
    case "minimum":
      return `Invalid '${at}': integer below minimum value. Expected a value >= ${problem.minimum}, but got ${problem.value} instead.`;
    case "rule":
      return problem.message;
  }
}

/** The first thing wrong with a Responses request, worded as OpenAI's API words it
 *  (`Missing required parameter: 'input[0].role'.`). */
export function validateResponses(body: Json): Invalid | undefined {
  const problem = firstProblem(responsesRequestSchema, body);
  if (!problem) return undefined;
  const at = param(problem.path);
  return { field: at, message: says(problem, at) };
}

// The answers.

const count = z.int().min(0);

export const responsesUsageSchema = z
  .strictObject({
    input_tokens: count,
    input_tokens_details: z.strictObject({ cached_tokens: count }),
    output_tokens: count,
    output_tokens_details: z.strictObject({ reasoning_tokens: count }),
    total_tokens: count,
  })
  .refine(
    (usage) => usage.total_tokens === usage.input_tokens + usage.output_tokens,
    "total = input + output",
  )
  .refine((usage) => usage.input_tokens_details.cached_tokens <= usage.input_tokens, "cached within input");

const itemStatus = z.enum(["in_progress", "completed", "incomplete"]);
const outputText = z.strictObject({
  type: z.literal("output_text"),
  text: z.string(),
  annotations: z.array(z.unknown()),
});

const outputItem = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("message"),
    id: z.string().regex(/^msg_/),
    status: itemStatus,
    role: z.literal("assistant"),
    content: z.array(outputText),
  }),
  z.strictObject({
    type: z.literal("reasoning"),
    id: z.string().regex(/^rs_/),
    summary: z.array(z.unknown()),
    content: z.array(z.strictObject({ type: z.literal("reasoning_text"), text: z.string() })).optional(),
    status: itemStatus.optional(),
  }),
  z.strictObject({
    type: z.literal("function_call"),
    id: z.string().regex(/^fc_/),
    call_id: z.string().regex(/^call_./),
    name: z.string().min(1),
    arguments: z.string(),
    status: itemStatus,
  }),
]);

const responseObject = z.strictObject({
  id: z.string().regex(/^resp_/),
  object: z.literal("response"),
  created_at: count,
  status: z.enum(["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  incomplete_details: z.strictObject({ reason: z.enum(["max_output_tokens", "content_filter"]) }).nullable(),
  instructions: z.union([z.string(), z.array(z.unknown())]).nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  model: z.string(),
  output: z.array(outputItem),
  parallel_tool_calls: z.boolean(),
  temperature: z.number().nullable(),
  tool_choice: z.union([z.string(), z.record(z.string(), z.unknown())]),
  tools: z.array(z.unknown()),
  top_p: z.number().nullable(),
  max_output_tokens: count.nullable().optional(),
  usage: responsesUsageSchema.optional(),
});

type ResponseObject = z.infer<typeof responseObject>;
const explained = (response: ResponseObject) =>
  (response.status === "incomplete") === (response.incomplete_details !== null) &&
  (response.status === "failed") === (response.error !== null);
const EXPLAINED = "incomplete_details and error are set exactly when the status says so";

/** A whole Responses answer. */
export const responsesAnswerSchema = responseObject.refine(explained, EXPLAINED);

/** The `response` a stream event carries, in the status that event announces. */
const responseIn = (status: ResponseObject["status"]) =>
  responseObject.extend({ status: z.literal(status) }).refine(explained, EXPLAINED);

const sequence = { sequence_number: count };
const at = { item_id: z.string(), output_index: count };
const inPart = { ...at, content_index: count };
const event = <Type extends string, Shape extends z.ZodRawShape>(type: Type, shape: Shape) =>
  z.strictObject({ type: z.literal(type), ...sequence, ...shape });

/** One event of a Responses stream (the `event:` name is the data's `type`). */
export const responsesStreamEventSchema = z.discriminatedUnion("type", [
  event("response.created", { response: responseIn("in_progress") }),
  event("response.in_progress", { response: responseIn("in_progress") }),
  event("response.completed", { response: responseIn("completed") }),
  event("response.incomplete", { response: responseIn("incomplete") }),
  event("response.failed", { response: responseIn("failed") }),
  event("response.output_item.added", { output_index: count, item: outputItem }),
  event("response.output_item.done", { output_index: count, item: outputItem }),
  event("response.content_part.added", { ...inPart, part: outputText }),
  event("response.content_part.done", { ...inPart, part: outputText }),
  event("response.output_text.delta", { ...inPart, delta: z.string(), logprobs: z.array(z.unknown()) }),
  event("response.output_text.done", { ...inPart, text: z.string(), logprobs: z.array(z.unknown()) }),
  event("response.reasoning_text.delta", { ...inPart, delta: z.string() }),
  event("response.reasoning_text.done", { ...inPart, text: z.string() }),
  event("response.function_call_arguments.delta", { ...at, delta: z.string() }),
  event("response.function_call_arguments.done", { ...at, name: z.string(), arguments: z.string() }),
  z.object({ type: z.literal("error"), code: z.string().nullable(), message: z.string() }),
]);
