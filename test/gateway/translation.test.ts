import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { rig } from "../support/cli.ts";
import { makeHome, type TestHome } from "../support/home.ts";
import { readRecord, scriptedServer, tinyServers } from "../support/stack.ts";

const homes: TestHome[] = [];
after(async () => {
  for (const home of homes) await home.cleanup();
});

/** A chat-only upstream (like mlx_lm.server) replaying `replies`, behind a started gateway. */
async function chatOnly(replies: unknown[]): Promise<TestHome> {
  const home = await makeHome(
    `servers:\n${scriptedServer("mlx", { SCRIPT: "script.json", RECORD: "record.jsonl" })}`,
  );
  homes.push(home);
  writeFileSync(join(home.root, "script.json"), JSON.stringify(replies));
  assert.equal((await rig(["gateway", "start"], { home: home.root })).code, 0);
  return home;
}

const bash = {
  name: "Bash",
  description: "run a shell command",
  input_schema: {
    type: "object" as const,
    properties: { command: { type: "string" } },
    required: ["command"],
  },
};

describe("Anthropic Messages through a chat-only runtime", () => {
  test("streamed text, with the official SDK: message_start, one text block, end_turn, usage", async () => {
    const home = await chatOnly([
      {
        deltas: [{ content: "Hello" }, { content: ", world" }],
        usage: { prompt_tokens: 21, completion_tokens: 2, total_tokens: 23 },
      },
    ]);
    const client = new Anthropic({ baseURL: home.url, apiKey: "unused" });
    const events: string[] = [];
    const stream = client.messages.stream({
      model: "mlx",
      max_tokens: 64,
      system: [
        { type: "text", text: "x-anthropic-billing-header: cc_version=2.1; cc_entrypoint=cli" },
        { type: "text", text: "Be brief." },
      ],
      messages: [{ role: "user", content: "hi" }],
    });
    stream.on("streamEvent", (event) => events.push(event.type));
    const message = await stream.finalMessage();
    assert.deepEqual(
      message.content,
      [{ type: "text", text: "Hello, world", citations: undefined }].map(({ citations, ...block }) => block),
    );
    assert.equal(message.stop_reason, "end_turn");
    assert.equal(message.usage.input_tokens, 21);
    assert.equal(message.usage.output_tokens, 2);
    assert.deepEqual(events, [
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const sent = readRecord(join(home.root, "record.jsonl")).find(
      (entry) => entry.path === "/v1/chat/completions",
    )!.body as { messages: unknown[] };
    assert.deepEqual(
      sent.messages[0],
      { role: "system", content: "Be brief." },
      "the billing header block never reaches the runtime",
    );
  });

  test("reasoning then text become a thinking block and a text block", async () => {
    const home = await chatOnly([
      { deltas: [{ reasoning: "Let me think" }, { reasoning: " briefly." }, { content: "Done." }] },
    ]);
    const client = new Anthropic({ baseURL: home.url, apiKey: "unused" });
    const message = await client.messages
      .stream({
        model: "mlx",
        max_tokens: 64,
        thinking: { type: "enabled", budget_tokens: 1024 },
        messages: [{ role: "user", content: "hi" }],
      })
      .finalMessage();
    assert.deepEqual(
      message.content.map((block) =>
        block.type === "thinking"
          ? ["thinking", block.thinking]
          : block.type === "text"
            ? ["text", block.text]
            : [block.type],
      ),
      [
        ["thinking", "Let me think briefly."],
        ["text", "Done."],
      ],
    );
    const sent = readRecord(join(home.root, "record.jsonl")).find(
      (entry) => entry.path === "/v1/chat/completions",
    )!.body as Record<string, unknown>;
    assert.deepEqual(sent.chat_template_kwargs, { enable_thinking: true });
  });

  test("a tool call streamed in fragments becomes tool_use with input_json_delta, and stop_reason tool_use even when the runtime said stop", async () => {
    const home = await chatOnly([
      {
        deltas: [
          { content: "Checking." },
          {
            tool_calls: [
              { index: 0, id: "call_1", type: "function", function: { name: "Bash", arguments: "" } },
            ],
          },
          { tool_calls: [{ index: 0, function: { arguments: '{"comm' } }] },
          { tool_calls: [{ index: 0, function: { arguments: 'and": "ls -la"}' } }] },
        ],
        finish_reason: "stop",
      },
    ]);
    const client = new Anthropic({ baseURL: home.url, apiKey: "unused" });
    const deltas: string[] = [];
    const stream = client.messages.stream({
      model: "mlx",
      max_tokens: 64,
      tools: [bash],
      messages: [{ role: "user", content: "list files" }],
    });
    stream.on("streamEvent", (event) => {
      if (event.type === "content_block_delta" && event.delta.type === "input_json_delta")
        deltas.push(event.delta.partial_json);
    });
    const message = await stream.finalMessage();
    assert.equal(message.stop_reason, "tool_use");
    const call = message.content.find((block) => block.type === "tool_use");
    assert.ok(call && call.type === "tool_use");
    assert.equal(call.name, "Bash");
    assert.deepEqual(call.input, { command: "ls -la" });
    assert.ok(deltas.length >= 1);
  });

  test("tool results, images and long tool names reach the runtime in its terms", async () => {
    const longName = `mcp__filesystem__${"very_long_tool_name_".repeat(4)}read`;
    const home = await chatOnly([
      {
        deltas: [
          { tool_calls: [{ index: 0, id: "c2", function: { name: "PLACEHOLDER", arguments: "{}" } }] },
        ],
      },
    ]);
    const client = new Anthropic({ baseURL: home.url, apiKey: "unused" });
    await client.messages.create({
      model: "mlx",
      max_tokens: 16,
      tools: [{ ...bash, name: longName }],
      messages: [
        { role: "user", content: "go" },
        {
          role: "assistant",
          content: [{ type: "tool_use", id: "c1", name: longName, input: { path: "/" } }],
        },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "c1",
              is_error: true,
              content: [{ type: "text", text: "permission denied" }],
            },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0" } },
            { type: "text", text: "what now?" },
          ],
        },
      ],
    });
    const sent = readRecord(join(home.root, "record.jsonl")).find(
      (entry) => entry.path === "/v1/chat/completions",
    )!.body as {
      tools: Array<{ function: { name: string } }>;
      messages: Array<Record<string, unknown>>;
    };
    const short = sent.tools[0]!.function.name;
    assert.ok(short.length <= 64 && short !== longName);
    assert.deepEqual(sent.messages[2], {
      role: "tool",
      tool_call_id: "c1",
      content: "Error: permission denied",
    });
    assert.deepEqual(sent.messages[3]!.content, [
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0" } },
      { type: "text", text: "what now?" },
    ]);
    assert.equal(
      (sent.messages[1]!.tool_calls as Array<{ function: { name: string } }>)[0]!.function.name,
      short,
    );
  });

  test("an error mid-stream ends with an Anthropic error event, never a hang", async () => {
    const home = await chatOnly([
      { deltas: [{ content: "one" }, { content: "two" }, { content: "three" }], die_after: 1 },
    ]);
    const response = await fetch(`${home.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "mlx",
        max_tokens: 16,
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    const text = await response.text();
    assert.match(text, /event: message_start/);
    assert.match(
      text,
      /event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"server mlx stopped mid-response/,
    );
  });

  test("count_tokens is answered for a runtime that cannot count", async () => {
    const home = await chatOnly([]);
    const client = new Anthropic({ baseURL: home.url, apiKey: "unused" });
    const counted = await client.messages.countTokens({
      model: "mlx",
      messages: [{ role: "user", content: "hello there, how are you?" }],
    });
    assert.ok(counted.input_tokens > 0);
  });
});

describe("OpenAI Responses through a chat-only runtime", () => {
  test("streamed text and a function call with the official SDK; response.completed carries usage", async () => {
    const home = await chatOnly([
      {
        deltas: [
          { content: "Let me run it." },
          {
            tool_calls: [
              { index: 0, id: "call_9", function: { name: "exec_command", arguments: '{"cmd":' } },
            ],
          },
          { tool_calls: [{ index: 0, function: { arguments: '"pwd"}' } }] },
        ],
        usage: { prompt_tokens: 40, completion_tokens: 9, total_tokens: 49 },
      },
    ]);
    const client = new OpenAI({ baseURL: `${home.url}/v1`, apiKey: "unused" });
    const stream = await client.responses.create({
      model: "mlx",
      stream: true,
      instructions: "You are Codex.",
      input: [
        { role: "developer", content: "Use tools." },
        { role: "user", content: "where am I?" },
      ],
      tools: [
        {
          type: "function",
          name: "exec_command",
          parameters: { type: "object", properties: { cmd: { type: "string" } } },
          strict: false,
        },
        { type: "web_search" } as never,
      ],
    });
    const types: string[] = [];
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.completed") completed = event.response;
    }
    assert.equal(types[0], "response.created");
    assert.ok(types.includes("response.output_text.delta"));
    assert.ok(types.includes("response.function_call_arguments.delta"));
    assert.equal(types.at(-1), "response.completed");
    const call = completed!.output.find((item) => item.type === "function_call");
    assert.ok(call && call.type === "function_call");
    assert.equal(call.name, "exec_command");
    assert.deepEqual(JSON.parse(call.arguments), { cmd: "pwd" });
    assert.equal(completed!.usage?.input_tokens, 40);
    const sent = readRecord(join(home.root, "record.jsonl")).find(
      (entry) => entry.path === "/v1/chat/completions",
    )!.body as {
      messages: Array<{ role: string; content: string }>;
      tools: unknown[];
    };
    assert.deepEqual(
      sent.messages[0],
      { role: "system", content: "You are Codex.\n\nUse tools." },
      "developer messages join the system prompt",
    );
    assert.equal(sent.tools.length, 1, "hosted tools are dropped");
  });

  test("Codex's empty warm-up request is answered without waking a model", async () => {
    const home = await chatOnly([]);
    const client = new OpenAI({ baseURL: `${home.url}/v1`, apiKey: "unused" });
    const response = await client.responses.create({ model: "mlx", input: [] });
    assert.equal(response.status, "completed");
    assert.deepEqual(
      readRecord(join(home.root, "record.jsonl")).filter((entry) => entry.path === "/v1/chat/completions"),
      [],
    );
  });
});

describe("translation forced against the real llama-server", () => {
  test("Anthropic and Responses clients get the tiny model's words through Chat Completions", async () => {
    const home = await makeHome(await tinyServers({ tiny: "translate: always" }));
    homes.push(home);
    assert.equal((await rig(["gateway", "start"], { home: home.root })).code, 0);
    const anthropic = new Anthropic({ baseURL: home.url, apiKey: "unused" });
    const message = await anthropic.messages
      .stream({ model: "tiny", max_tokens: 12, messages: [{ role: "user", content: "hi" }] })
      .finalMessage();
    const text = message.content.find((block) => block.type === "text");
    assert.ok(text && text.type === "text" && text.text.length > 0);
    assert.equal(message.stop_reason, "max_tokens");
    assert.equal(message.usage.output_tokens, 12);

    const openai = new OpenAI({ baseURL: `${home.url}/v1`, apiKey: "unused" });
    const response = await openai.responses.create({ model: "tiny", input: "hi", max_output_tokens: 10 });
    assert.equal(response.status, "incomplete", "cut by max_output_tokens, as OpenAI reports it");
    assert.ok(response.output_text.length > 0);
    assert.equal(response.usage?.output_tokens, 10);
  });

  test("a tool_choice that requires a tool makes even the tiny model call it, in every client's dialect", async () => {
    // The tiny model never writes a call by itself; only the grammar rig derives from the tools can
    // make it produce one, so a well-formed call with an allowed argument shows the constraint held.
    const home = await makeHome(await tinyServers({ tiny: "translate: always", native: "" }));
    homes.push(home);
    assert.equal((await rig(["gateway", "start"], { home: home.root })).code, 0);
    const cities = ["Paris", "Rome"];
    const parameters = {
      type: "object" as const,
      properties: { city: { type: "string" as const, enum: cities } },
      required: ["city"],
    };

    const anthropic = new Anthropic({ baseURL: home.url, apiKey: "unused" });
    const request = {
      model: "tiny",
      max_tokens: 400,
      messages: [{ role: "user" as const, content: "What is the weather?" }],
      tools: [
        { name: "get_weather", description: "weather for a city", input_schema: parameters },
        { name: "get_time", description: "time in a city", input_schema: parameters },
      ],
      tool_choice: { type: "tool" as const, name: "get_weather" },
    };
    for (const message of [
      await anthropic.messages.create(request),
      await anthropic.messages.stream(request).finalMessage(),
      // llama.cpp speaks Messages natively; under translate: auto a required call still goes through rig.
      await anthropic.messages.create({ ...request, model: "native" }),
    ]) {
      const use = message.content.find((block) => block.type === "tool_use");
      assert.ok(use && use.type === "tool_use", JSON.stringify(message.content));
      assert.equal(use.name, "get_weather");
      assert.ok(cities.includes((use.input as { city: string }).city));
      assert.equal(message.stop_reason, "tool_use");
    }

    const openai = new OpenAI({ baseURL: `${home.url}/v1`, apiKey: "unused" });
    const response = await openai.responses.create({
      model: "tiny",
      input: "What is the weather?",
      max_output_tokens: 400,
      tools: [{ type: "function", name: "get_weather", parameters, strict: false }],
      tool_choice: "required",
    });
    const item = response.output.find((entry) => entry.type === "function_call");
    assert.ok(item && item.type === "function_call", JSON.stringify(response.output));
    assert.ok(cities.includes(JSON.parse(item.arguments).city));

    const chunks = await openai.chat.completions.create({
      model: "tiny",
      max_tokens: 400,
      messages: [{ role: "user", content: "What is the time?" }],
      tools: [
        { type: "function", function: { name: "get_weather", parameters } },
        { type: "function", function: { name: "get_time", parameters } },
      ],
      tool_choice: "required",
      stream: true,
    });
    let name = "";
    let args = "";
    let finish: string | null = null;
    for await (const chunk of chunks) {
      const delta = chunk.choices[0]?.delta.tool_calls?.[0];
      name += delta?.function?.name ?? "";
      args += delta?.function?.arguments ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(["get_weather", "get_time"].includes(name));
    assert.ok(cities.includes(JSON.parse(args).city));
    assert.equal(finish, "tool_calls");
  });
});
