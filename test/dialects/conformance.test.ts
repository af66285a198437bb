// What each dialect's real API says that the shared contract cannot: how its usage counts the cache,
// how it reports an answer cut short, the ids it gives, what its response objects repeat. Every answer
// read here is also checked against the dialect's schema by the readers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { anthropic } from "../../src/dialects/anthropic/index.ts";
import { messagesAnswerSchema } from "../../src/dialects/anthropic/schema.ts";
import { ChatEventBuilder, responseEvents } from "../../src/dialects/chat.ts";
import { responses } from "../../src/dialects/responses/index.ts";
import { responsesAnswerSchema } from "../../src/dialects/responses/schema.ts";
import type { ChatEvent, Json, TranslationContext, Translator } from "../../src/dialects/types.ts";
import { READERS, sseMessages } from "./read-answers.ts";

const streamed = (translator: Translator, events: ChatEvent[], context: TranslationContext) => {
  const renderer = translator.stream(context);
  return sseMessages(renderer.push(events) + renderer.end());
};

/** What a translation remembers of a plain request in each dialect (`extra` adds to the request). */
const messagesContext = () =>
  anthropic.toChat({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "x" }] }).context;
const responsesContext = (extra: Json = {}) => responses.toChat({ model: "m", input: "x", ...extra }).context;

/** The final chunk of a llama-server stream that was not asked for usage: only its timings count. */
const timingsOnly = {
  choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
  timings: { cache_n: 30, prompt_n: 5, predicted_n: 3 },
};

describe("usage counts the runtime's prompt cache as each API does", () => {
  const context = messagesContext();

  test("llama-server's timings.cache_n is the cached part of the prompt when no usage was asked for", () => {
    const builder = new ChatEventBuilder(context);
    const events = [
      ...builder.chunk({ choices: [{ index: 0, delta: { content: "ok" } }] }),
      ...builder.chunk(timingsOnly),
      ...builder.end(),
    ];
    assert.deepEqual(events.at(-1), { type: "usage", input: 35, output: 3, cached: 30 });
  });

  test("a usage object without cached_tokens takes the cache count from the timings beside it", () => {
    const events = responseEvents(
      { ...timingsOnly, usage: { prompt_tokens: 35, completion_tokens: 3 } },
      context,
    );
    assert.deepEqual(events.at(-1), { type: "usage", input: 35, output: 3, cached: 30 });
  });

  test("Messages: input_tokens leaves out the cache reads, both cache counts are integers, streamed or not", () => {
    const events: ChatEvent[] = [
      { type: "text", text: "ok" },
      { type: "finish", reason: "stop" },
      { type: "usage", input: 35, output: 3, cached: 30 },
    ];
    const whole = anthropic.respond(events, context);
    assert.deepEqual(whole.usage, {
      input_tokens: 5,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 30,
      output_tokens: 3,
    });
    const stream = streamed(anthropic, events, context);
    assert.deepEqual(stream.find((message) => message.event === "message_delta")?.data.usage, whole.usage);
    const start = stream[0]!.data.message as Json;
    assert.deepEqual(start.usage, {
      input_tokens: context.inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 0,
    });
  });

  test("Responses: input_tokens is the whole prompt, with the cached and reasoning tokens in their details", () => {
    const context = responsesContext();
    const events = responseEvents(
      {
        choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
        usage: {
          prompt_tokens: 35,
          completion_tokens: 9,
          prompt_tokens_details: { cached_tokens: 30 },
          completion_tokens_details: { reasoning_tokens: 6 },
        },
      },
      context,
    );
    assert.deepEqual(responses.respond(events, context).usage, {
      input_tokens: 35,
      input_tokens_details: { cached_tokens: 30 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 6 },
      total_tokens: 44,
    });
  });
});

describe("Responses: an answer cut by the token limit is incomplete, as OpenAI reports it", () => {
  const context = responsesContext({ max_output_tokens: 16 });
  const cut: ChatEvent[] = [
    { type: "text", text: "Hello, wor" },
    { type: "finish", reason: "length" },
    { type: "usage", input: 4, output: 16 },
  ];

  test("whole: status incomplete, the reason, and the message itself incomplete", () => {
    const body = responses.respond(cut, context);
    assert.equal(READERS.responses!.whole(body).stop, "incomplete");
    assert.deepEqual(body.incomplete_details, { reason: "max_output_tokens" });
    assert.equal((body.output as Json[])[0]!.status, "incomplete");
  });

  test("streamed: the stream ends with response.incomplete; items finished before the cut stay completed", () => {
    const events: ChatEvent[] = [
      { type: "tool_call", index: 0, id: "call_a", name: "read_file" },
      { type: "tool_arguments", index: 0, text: "{}" },
      ...cut,
    ];
    const stream = streamed(responses, events, context);
    assert.equal(READERS.responses!.stream(stream).stop, "incomplete");
    const last = stream.at(-1)!;
    assert.equal(last.event, "response.incomplete");
    const response = last.data.response as Json;
    assert.deepEqual(response.incomplete_details, { reason: "max_output_tokens" });
    assert.deepEqual(
      (response.output as Json[]).map((item) => item.status),
      ["completed", "incomplete"],
    );
    const done = stream.filter((message) => message.event === "response.output_item.done");
    assert.deepEqual(
      done.map((message) => (message.data.item as Json).status),
      ["completed", "incomplete"],
    );
  });

  test("a content filter is incomplete too, with its own reason; a normal end is completed", () => {
    const filtered = responses.respond([{ type: "finish", reason: "content_filter" }], context);
    assert.deepEqual(filtered.incomplete_details, { reason: "content_filter" });
    const ended = responses.respond([{ type: "finish", reason: "stop" }], context);
    assert.equal(ended.status, "completed");
    assert.equal(ended.incomplete_details, null);
  });
});

describe("ids carry the API's prefixes", () => {
  test("Messages tool_use ids are toolu_ ids; the runtime's id is kept inside", () => {
    const context = messagesContext();
    const calls = (id: string) =>
      (anthropic.respond([{ type: "tool_call", index: 0, id, name: "f" }], context).content as Json[])[0]!.id;
    assert.equal(calls("a1b2"), "toolu_a1b2");
    assert.equal(calls("toolu_01XY"), "toolu_01XY", "an id that has the prefix keeps it");
  });

  test("Responses call ids are call_ ids, items msg_/rs_/fc_, the response resp_", () => {
    const context = responsesContext();
    const body = responses.respond(
      [
        { type: "reasoning", text: "r" },
        { type: "text", text: "t" },
        { type: "tool_call", index: 0, id: "a1b2", name: "f" },
        { type: "tool_call", index: 1, id: "call_c3", name: "g" },
      ],
      context,
    );
    assert.match(String(body.id), /^resp_/);
    const output = body.output as Json[];
    assert.deepEqual(
      output.map((item) => String(item.id).split("_")[0]),
      ["rs", "msg", "fc", "fc"],
    );
    assert.deepEqual(
      output.slice(2).map((item) => item.call_id),
      ["call_a1b2", "call_c3"],
    );
  });
});

describe("Responses: the response object repeats the request's settings, as OpenAI's does", () => {
  const request = {
    model: "m",
    input: "x",
    instructions: "Be brief.",
    temperature: 0.2,
    max_output_tokens: 32,
    tools: [{ type: "function", name: "f", parameters: { type: "object" } }],
    tool_choice: "required",
    parallel_tool_calls: false,
    metadata: { session: "s1" },
  };

  test("whole and in every streamed response object, with one id and creation time", () => {
    const { context } = responses.toChat(request);
    const echoed = {
      instructions: "Be brief.",
      temperature: 0.2,
      top_p: null,
      max_output_tokens: 32,
      tools: request.tools,
      tool_choice: "required",
      parallel_tool_calls: false,
      metadata: { session: "s1" },
    };
    const pick = (response: Json) =>
      Object.fromEntries(Object.keys(echoed).map((key) => [key, response[key]]));
    assert.deepEqual(pick(responses.respond([{ type: "finish", reason: "stop" }], context)), echoed);
    const objects = streamed(responses, [{ type: "text", text: "t" }], context)
      .map((message) => message.data.response as Json | undefined)
      .filter((response) => response !== undefined);
    assert.equal(objects.length, 3, "created, in_progress, completed");
    for (const response of objects) assert.deepEqual(pick(response), echoed);
    assert.equal(new Set(objects.map((response) => `${response.id}@${response.created_at}`)).size, 1);
  });

  test("settings the client left out are the API's defaults", () => {
    const context = responsesContext({ instructions: null });
    const body = responses.respond([], context);
    assert.deepEqual(
      [
        body.instructions,
        body.tools,
        body.tool_choice,
        body.parallel_tool_calls,
        body.temperature,
        body.metadata,
      ],
      [null, [], "auto", true, null, {}],
    );
  });
});

describe("the answer schemas catch what an outside conformance suite found", () => {
  test("a Messages answer without the cache counts, or with a tool_use id of the runtime's, does not pass", () => {
    const context = messagesContext();
    const answer = anthropic.respond(
      [
        { type: "tool_call", index: 0, id: "c1", name: "f" },
        { type: "usage", input: 3, output: 1 },
      ],
      context,
    );
    assert.equal(messagesAnswerSchema.safeParse(answer).success, true);
    assert.equal(
      messagesAnswerSchema.safeParse({ ...answer, usage: { input_tokens: 3, output_tokens: 1 } }).success,
      false,
    );
    const [block] = answer.content as Json[];
    assert.equal(
      messagesAnswerSchema.safeParse({ ...answer, content: [{ ...block, id: "c1" }] }).success,
      false,
    );
    assert.equal(messagesAnswerSchema.safeParse({ ...answer, stop_reason: "length" }).success, false);
  });

  test("a Responses answer cut short that says completed, or without the usage details, does not pass", () => {
    const context = responsesContext();
    const answer = responses.respond([{ type: "finish", reason: "length" }], context);
    assert.equal(responsesAnswerSchema.safeParse(answer).success, true);
    assert.equal(responsesAnswerSchema.safeParse({ ...answer, status: "completed" }).success, false);
    const usage = answer.usage as Json;
    assert.equal(
      responsesAnswerSchema.safeParse({ ...answer, usage: { ...usage, output_tokens_details: undefined } })
        .success,
      false,
    );
  });
});
