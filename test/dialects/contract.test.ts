import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TRANSLATORS } from "../../src/dialects/index.ts";
import type { ChatEvent, Json, RequestKind } from "../../src/dialects/types.ts";
import { type Answer, READERS, sseMessages } from "./read-answers.ts";

// The contract every client dialect keeps, run over every entry of TRANSLATORS: a new dialect needs
// its case below (a sample request, what it answers locally) and its reader in read-answers.ts.

const LONG_TOOL = `mcp__${"very_long_server_name_".repeat(4)}__read`;

interface DialectCase {
  /** System prompt "Be brief.", user turn `user` ("hi"), tools `read_file` and LONG_TOOL. */
  request(stream: boolean, user?: string): Json;
  /** Requests rig answers by itself (none: every request goes to the runtime). */
  local: Json[];
  /** The dialect's token-count route: the estimate it answers for a request, and the count an answer holds. */
  counts?: { estimate(body: Json): Json; tokens(answer: Json | undefined): number };
  /** A request that needs rig's fix-up when passed natively, and what the runtime gets instead. */
  nativeFix?: { request: Json; fixed: Json };
  /** Requests the real API refuses, with the field and the message it refuses them with. */
  invalid: Array<{ body: Json; kind?: RequestKind; field: string; message: string }>;
  /** Requests the real API takes that a careless schema would refuse. */
  valid: Array<{ body: Json; kind?: RequestKind }>;
}

const CASES: Record<string, DialectCase> = {
  messages: {
    request: (stream, user = "hi") => ({
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      system: "Be brief.",
      messages: [{ role: "user", content: user }],
      tools: [
        { name: "read_file", input_schema: { type: "object", properties: { path: { type: "string" } } } },
        { name: LONG_TOOL, input_schema: { type: "object" } },
      ],
      stream,
    }),
    local: [],
    counts: {
      estimate: (body) => ({
        input_tokens: Math.ceil(
          JSON.stringify({ system: body.system, messages: body.messages, tools: body.tools }).length / 4,
        ),
      }),
      tokens: (answer) => Number(answer?.input_tokens),
    },
    nativeFix: {
      request: {
        model: "m",
        system: [
          { type: "text", text: "x-anthropic-billing-header: cc_version=2.1; cch=1a2b3;" },
          { type: "text", text: "You are Claude Code." },
        ],
        messages: [],
      },
      fixed: { model: "m", system: [{ type: "text", text: "You are Claude Code." }], messages: [] },
    },
    invalid: [
      { body: { model: "m", max_tokens: 64 }, field: "messages", message: "messages: Field required" },
      {
        body: { model: "m", messages: [{ role: "user", content: "hi" }] },
        field: "max_tokens",
        message: "max_tokens: Field required",
      },
      {
        body: { model: "m", max_tokens: "64", messages: [{ role: "user", content: "hi" }] },
        field: "max_tokens",
        message: "max_tokens: Input should be a valid integer",
      },
      {
        body: { model: "m", max_tokens: 0, messages: [{ role: "user", content: "hi" }] },
        field: "max_tokens",
        message: "max_tokens: Input should be greater than or equal to 1",
      },
      {
        body: { model: "m", max_tokens: 64, messages: [] },
        field: "messages",
        message: "messages: at least one message is required",
      },
      {
        body: { model: "m", max_tokens: 64, messages: [{ role: "bot", content: "hi" }] },
        field: "messages.0.role",
        message: "messages.0.role: Input should be 'user', 'assistant' or 'system'",
      },
      {
        body: { model: "m", max_tokens: 64, messages: [{ role: "user", content: [{ text: "hi" }] }] },
        field: "messages.0.content.0.type",
        message: "messages.0.content.0.type: Field required",
      },
      {
        body: { model: "m", max_tokens: 64, messages: [{ role: "user", content: 7 }] },
        field: "messages.0.content",
        message: "messages.0.content: Input should be a valid string or a valid list",
      },
      {
        body: {
          model: "m",
          max_tokens: 64,
          messages: [{ role: "user", content: "hi" }],
          tools: [{ name: "read_file" }],
        },
        field: "tools.0.input_schema",
        message: "tools.0.input_schema: Field required",
      },
      {
        body: {
          model: "m",
          max_tokens: 64,
          messages: [{ role: "user", content: "hi" }],
          tool_choice: { type: "tool" },
        },
        field: "tool_choice.name",
        message: "tool_choice.name: Field required",
      },
      {
        body: { model: "m", max_tokens: 64, messages: [{ role: "user", content: "hi" }], stream: "yes" },
        field: "stream",
        message: "stream: Input should be a valid boolean",
      },
      { body: { model: "m" }, kind: "count", field: "messages", message: "messages: Field required" },
    ],
    valid: [
      { body: { model: "m", messages: [{ role: "user", content: "hi" }] }, kind: "count" },
      {
        body: {
          model: "m",
          max_tokens: 64,
          system: [{ type: "text", text: "Be brief." }],
          messages: [
            { role: "user", content: [{ type: "text", text: "hi" }] },
            { role: "system", content: "Claude Code sends system turns too." },
          ],
          tools: [{ type: "web_search_20250305", name: "web_search" }],
          tool_choice: { type: "tool", name: "web_search" },
          thinking: { type: "adaptive" },
        },
      },
    ],
  },
  responses: {
    request: (stream) => ({
      model: "gpt-5-codex",
      instructions: "Be brief.",
      input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }],
      tools: [
        {
          type: "function",
          name: "read_file",
          parameters: { type: "object", properties: { path: { type: "string" } } },
        },
        { type: "function", name: LONG_TOOL, parameters: { type: "object" } },
      ],
      stream,
    }),
    local: [
      { model: "gpt-5-codex", input: [] },
      { model: "gpt-5-codex", input: "" },
      { model: "gpt-5-codex" },
    ],
    invalid: [
      { body: { input: "hi" }, field: "model", message: "Missing required parameter: 'model'." },
      {
        body: { model: "m", input: 5 },
        field: "input",
        message:
          "Invalid type for 'input': expected one of a string or an array, but got an integer instead.",
      },
      {
        body: { model: "m", input: [{ type: "message", role: "user" }] },
        field: "input[0].content",
        message: "Missing required parameter: 'input[0].content'.",
      },
      {
        body: { model: "m", input: [{ role: "robot", content: "hi" }] },
        field: "input[0].role",
        message:
          "Invalid value: 'robot'. Supported values are: 'user', 'assistant', 'system', and 'developer'.",
      },
      {
        body: { model: "m", input: [{ type: "function_call", name: "read_file", arguments: "{}" }] },
        field: "input[0].call_id",
        message: "Missing required parameter: 'input[0].call_id'.",
      },
      {
        body: { model: "m", input: "hi", max_output_tokens: "16" },
        field: "max_output_tokens",
        message: "Invalid type for 'max_output_tokens': expected an integer, but got a string instead.",
      },
      {
        body: { model: "m", input: "hi", tool_choice: "sometimes" },
        field: "tool_choice",
        message: "Invalid value: 'sometimes'. Supported values are: 'none', 'auto', and 'required'.",
      },
    ],
    valid: [
      {
        body: {
          model: "m",
          input: [
            { type: "reasoning", summary: [] },
            { type: "computer_call_output", call_id: "c", output: { type: "computer_screenshot" } },
            { type: "function_call_output", call_id: "c", output: [{ type: "input_text", text: "ok" }] },
          ],
          instructions: null,
          temperature: null,
          tool_choice: { type: "function", name: "read_file" },
          tools: [{ type: "web_search" }, { type: "namespace", name: "mcp", tools: [] }],
        },
      },
    ],
  },
  gemini: {
    // The gateway puts the path's model and the streaming method into the body (gateway/plan.ts).
    request: (stream, user = "hi") => ({
      model: "gemini-2.5-pro",
      systemInstruction: { parts: [{ text: "Be brief." }] },
      contents: [{ role: "user", parts: [{ text: user }] }],
      tools: [
        {
          functionDeclarations: [
            { name: "read_file", parameters: { type: "OBJECT", properties: { path: { type: "STRING" } } } },
            { name: LONG_TOOL, parametersJsonSchema: { type: "object" } },
          ],
        },
      ],
      ...(stream ? { stream: true } : {}),
    }),
    local: [],
    counts: {
      estimate: (body) => ({
        totalTokens: Math.ceil(
          JSON.stringify({ system: body.systemInstruction, contents: body.contents, tools: body.tools })
            .length / 4,
        ),
      }),
      tokens: (answer) => Number(answer?.totalTokens),
    },
    invalid: [
      {
        body: { model: "m" },
        field: "contents",
        message: "* GenerateContentRequest.contents: contents is not specified",
      },
      {
        body: { contents: [] },
        field: "contents",
        message: "* GenerateContentRequest.contents: contents is not specified",
      },
      {
        body: { contents: [{ role: "user", parts: [] }] },
        field: "contents[0].parts",
        message: "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.",
      },
      {
        body: { contents: [{ role: "bot", parts: [{ text: "hi" }] }] },
        field: "contents[0].role",
        message: "Please use a valid role: user, model.",
      },
      {
        body: { contents: "hi" },
        field: "contents",
        message: `Invalid value at 'contents' (TYPE_MESSAGE), "hi"`,
      },
      {
        body: { contents: [{ role: "model", parts: [{ functionCall: { args: {} } }] }] },
        field: "contents[0].parts[0].functionCall.name",
        message: "* GenerateContentRequest.contents[0].parts[0].function_call.name: name is not specified",
      },
      {
        body: { contents: [{ parts: [{ text: "hi" }] }], generationConfig: { maxOutputTokens: "16" } },
        field: "generationConfig.maxOutputTokens",
        message: `Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), "16"`,
      },
      {
        body: { contents: [{ parts: [{ text: "hi" }] }], generation_config: { max_output_tokens: "16" } },
        field: "generationConfig.maxOutputTokens",
        message: `Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), "16"`,
      },
      {
        body: {
          contents: [{ parts: [{ text: "hi" }] }],
          toolConfig: { functionCallingConfig: { mode: "SOMETIMES" } },
        },
        field: "toolConfig.functionCallingConfig.mode",
        message: `Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "SOMETIMES"`,
      },
      {
        body: { model: "m" },
        kind: "count",
        field: "contents",
        message: "* CountTokensRequest.contents: contents is not specified",
      },
    ],
    valid: [
      {
        body: {
          contents: [{ role: "user", parts: [{ text: "hi" }] }],
          system_instruction: { parts: [{ text: "Be brief." }] },
          generation_config: { max_output_tokens: 16, thinking_config: { thinking_budget: 0 } },
        },
      },
      {
        body: {
          contents: [
            {
              role: "user",
              parts: [{ text: "what is here?" }, { inlineData: { mimeType: "image/png", data: "iVBORw0K" } }],
            },
            {
              role: "model",
              parts: [{ text: "Looking.", thought: true }, { functionCall: { name: "ls", args: {} } }],
            },
            { role: "user", parts: [{ functionResponse: { name: "ls", response: { output: "a.txt" } } }] },
          ],
          tools: [{ googleSearch: {} }, { functionDeclarations: [{ name: "ls" }] }],
          toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["ls"] } },
          generationConfig: { temperature: 0.2, topK: 40, thinkingConfig: { includeThoughts: true } },
        },
      },
      {
        body: { generateContentRequest: { model: "models/m", contents: [{ parts: [{ text: "hi" }] }] } },
        kind: "count",
      },
    ],
  },
};

/** An answer with every kind of event: reasoning, text in pieces, two tool calls, finish, usage. */
const EVENTS: ChatEvent[] = [
  { type: "reasoning", text: "The user greets; " },
  { type: "reasoning", text: "read the file." },
  { type: "text", text: "Hel" },
  { type: "text", text: "lo." },
  { type: "tool_call", index: 0, id: "call_1", name: "read_file" },
  { type: "tool_arguments", index: 0, text: '{"path":"a.txt"}' },
  { type: "tool_call", index: 1, id: "call_2", name: LONG_TOOL },
  { type: "tool_arguments", index: 1, text: '{"path":"b ü.txt","lines":[1,2]}' },
  { type: "finish", reason: "tool_calls" },
  { type: "usage", input: 12, output: 5, cached: 3 },
];

const EXPECTED: Omit<Answer, "stop"> = {
  text: "Hello.",
  reasoning: "The user greets; read the file.",
  calls: [
    { id: "call_1", name: "read_file", input: { path: "a.txt" } },
    { id: "call_2", name: LONG_TOOL, input: { path: "b ü.txt", lines: [1, 2] } },
  ],
  usage: { input: 12, output: 5, cached: 3 },
};

test("every translator has its case in this contract", () => {
  assert.deepEqual(Object.keys(CASES).sort(), Object.keys(TRANSLATORS).sort());
  assert.deepEqual(Object.keys(READERS).sort(), Object.keys(TRANSLATORS).sort());
  for (const [route, translator] of Object.entries(TRANSLATORS)) assert.equal(translator.dialect, route);
});

for (const [dialect, translator] of Object.entries(TRANSLATORS)) {
  const spec = CASES[dialect]!;
  const reader = READERS[dialect]!;
  const contextOf = (body: Json) => translator.toChat(body).context;
  const rendered = (pushes: ChatEvent[][], error?: string) => {
    const renderer = translator.stream(contextOf(spec.request(true)));
    return sseMessages(pushes.map((events) => renderer.push(events)).join("") + renderer.end(error));
  };

  describe(`the ${dialect} translator`, () => {
    test("toChat makes a Chat request a runtime takes: model, system first, the user turn, tools, stream flags", () => {
      for (const stream of [true, false]) {
        const body = spec.request(stream);
        const { chat, context } = translator.toChat(body);
        assert.deepEqual(JSON.parse(JSON.stringify(chat)), chat, "the request survives the wire as JSON");
        assert.equal(chat.model, body.model);
        const messages = chat.messages as Json[];
        assert.deepEqual(messages[0], { role: "system", content: "Be brief." });
        assert.deepEqual(messages.at(-1), { role: "user", content: "hi" });
        assert.equal(messages.length, 2, "nothing but the system prompt and the user turn");
        if (stream) {
          assert.equal(chat.stream, true);
          assert.deepEqual(
            chat.stream_options,
            { include_usage: true },
            "usage is asked for the final events",
          );
        } else {
          assert.equal(chat.stream, undefined);
          assert.equal(chat.stream_options, undefined);
        }
        const tools = chat.tools as Array<{ type: string; function: { name: string; parameters: Json } }>;
        assert.deepEqual(
          tools.map((tool) => tool.type),
          ["function", "function"],
        );
        assert.equal(tools[0]!.function.name, "read_file");
        assert.deepEqual(tools[0]!.function.parameters, {
          type: "object",
          properties: { path: { type: "string" } },
        });
        const short = tools[1]!.function.name;
        assert.ok(short.length <= 64, `${short} fits the runtime's 64 characters`);
        assert.equal(context.toolNames.get(short), LONG_TOOL, "the shortened name maps back");
        assert.equal(context.model, body.model);
        assert.equal(context.toolsOffered, true);
        assert.ok((context.inputTokens ?? 0) > 0, "an input estimate for the stream's start");
      }
    });

    test("respond() renders text, reasoning, both tool calls with their arguments, the stop reason and usage", () => {
      const body = translator.respond(EVENTS, contextOf(spec.request(false)));
      assert.deepEqual(reader.whole(body), { ...EXPECTED, stop: reader.stops.tool_calls });
    });

    test("respond() maps every finish reason, and falls back to the input estimate without usage", () => {
      const context = contextOf(spec.request(false));
      for (const [reason, stop] of Object.entries(reader.stops)) {
        const answer = reader.whole(
          translator.respond(
            [
              { type: "text", text: "a" },
              { type: "finish", reason },
            ],
            context,
          ),
        );
        assert.equal(answer.stop, stop, `finish ${reason}`);
        assert.deepEqual(answer.usage, { input: context.inputTokens, output: 0, cached: 0 });
      }
    });

    test("stream() renders a well-ordered stream that says what respond() says, however the events are pushed", () => {
      const whole = reader.whole(translator.respond(EVENTS, contextOf(spec.request(true))));
      for (const pushes of [
        [EVENTS],
        EVENTS.map((event) => [event]),
        [[], EVENTS.slice(0, 3), [], EVENTS.slice(3)],
      ])
        assert.deepEqual(reader.stream(rendered(pushes)), whole);
    });

    test("stream() maps every finish reason like respond()", () => {
      for (const [reason, stop] of Object.entries(reader.stops)) {
        const answer = reader.stream(
          rendered([
            [
              { type: "text", text: "a" },
              { type: "finish", reason },
            ],
          ]),
        );
        assert.equal(answer.stop, stop, `finish ${reason}`);
      }
    });

    test("an empty stream still opens and ends well, with the input estimate as usage", () => {
      const answer = reader.stream(rendered([]));
      assert.equal(answer.text, "");
      assert.deepEqual(answer.calls, []);
      assert.deepEqual(answer.usage, {
        input: contextOf(spec.request(true)).inputTokens,
        output: 0,
        cached: 0,
      });
    });

    test("end(error) closes what is open and ends with the dialect's error event", () => {
      for (const pushes of [[], [[EVENTS[2]!]], [EVENTS.slice(0, 6)]]) {
        const messages = rendered(pushes, "server tiny stopped mid-response");
        reader.stream(messages);
        assert.equal(reader.streamError(messages), "server tiny stopped mid-response");
      }
      assert.equal(reader.streamError(rendered([EVENTS])), undefined, "a normal end is no error");
    });

    test("validate takes what the real API takes: the sample requests, the local ones, the API's optional shapes", () => {
      for (const body of [spec.request(true), spec.request(false), ...spec.local])
        assert.equal(translator.validate(body), undefined, JSON.stringify(body));
      for (const { body, kind } of spec.valid)
        assert.equal(translator.validate(body, kind), undefined, JSON.stringify(body));
    });

    test("validate refuses what the real API refuses, naming the field in the API's own words", () => {
      for (const { body, kind, field, message } of spec.invalid)
        assert.deepEqual(translator.validate(body, kind), { field, message }, JSON.stringify(body));
    });

    test("validate answers any JSON without throwing, naming the field it cannot take", () => {
      const sample = spec.request(false);
      const hostile: unknown[] = [null, 0, 1.5, "x", true, [], {}, [null], [7], [{}], [[]], [{ type: 7 }]];
      for (const key of Object.keys(sample))
        for (const value of hostile) {
          const invalid = translator.validate({ ...sample, [key]: value });
          if (invalid)
            assert.ok(invalid.field.startsWith(key), `${key}=${JSON.stringify(value)}: ${invalid.field}`);
        }
    });

    test("localAnswer answers only the requests the dialect answers by itself", () => {
      assert.equal(
        translator.localAnswer(spec.request(true)),
        undefined,
        "an ordinary request asks the runtime",
      );
      for (const body of spec.local) {
        const events = translator.localAnswer(body);
        assert.ok(events, `${JSON.stringify(body)} is answered locally`);
        const context = contextOf(body);
        const whole = reader.whole(translator.respond(events, context));
        assert.deepEqual(
          { text: whole.text, calls: whole.calls, stop: whole.stop },
          { text: "", calls: [], stop: reader.stops.stop },
        );
        const renderer = translator.stream(context);
        assert.deepEqual(reader.stream(sseMessages(renderer.push(events) + renderer.end())), whole);
      }
    });

    test("countTokens estimates a token-count request when the dialect has that route", () => {
      const body = spec.request(false);
      if (!spec.counts) {
        assert.equal(translator.countTokens(body), undefined);
        return;
      }
      const { estimate, tokens } = spec.counts;
      assert.deepEqual(translator.countTokens(body), estimate(body));
      const longer = spec.request(false, "hi ".repeat(400));
      assert.ok(
        tokens(translator.countTokens(longer)) > tokens(estimate(body)) + 250,
        "a longer request counts more",
      );
    });

    test("nativeRequest passes a request through, fixing only what the dialect declares", () => {
      const body = spec.request(true);
      assert.deepEqual(translator.nativeRequest(body), spec.request(true));
      if (!spec.nativeFix) return;
      const { request, fixed } = spec.nativeFix;
      const original = structuredClone(request);
      assert.deepEqual(translator.nativeRequest(request), fixed);
      assert.deepEqual(request, original, "the client's request is not mutated");
    });
  });
}
