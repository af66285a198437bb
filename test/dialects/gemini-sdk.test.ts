// Google's own JS client (@google/genai, pinned to 2.32.0: its 3.x releases need Node 22) against the
// gateway in-process: ModelProxy over a fake lease table and the scripted chat-only upstream, so every
// Gemini request is translated to Chat and every answer rendered back. No build, no child process.
import assert from "node:assert/strict";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { ApiError, FunctionCallingConfigMode, GoogleGenAI } from "@google/genai";
import { loadConfig } from "../../src/config/loader.ts";
import type { Json } from "../../src/dialects/types.ts";
import { startingNotice } from "../../src/gateway/exchange.ts";
import { ModelProxy, type ServerLeases } from "../../src/gateway/proxy.ts";
import { stoppedStatus } from "../../src/supervisor/status.ts";
// @ts-expect-error: a plain .mjs helper without types
import { scriptedUpstream } from "../support/scripted-upstream.mjs";

const listen = async (server: HttpServer) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const replies = [
  {
    match: "list the files",
    tools: true,
    deltas: [
      {
        tool_calls: [
          {
            index: 0,
            id: "call_ls",
            type: "function",
            function: { name: "list_directory", arguments: '{"dir_path": "src"}' },
          },
        ],
      },
    ],
    usage: { prompt_tokens: 40, completion_tokens: 9, total_tokens: 49 },
  },
  { match: "cut me", deltas: [{ content: "one " }, { content: "two " }, { content: "three" }], die_after: 2 },
  {
    deltas: [{ reasoning_content: "A greeting." }, { content: "hello " }, { content: "world" }],
    usage: {
      prompt_tokens: 12,
      completion_tokens: 5,
      total_tokens: 17,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 2 },
    },
  },
];
const recorded: Json[] = [];
const upstream = scriptedUpstream({ replies, record: (entry: Json) => recorded.push(entry) }) as HttpServer;
let upstreamUrl = "";

const config = await loadConfig({
  home: "/nonexistent/rig-gemini-sdk-test",
  env: { HOME: "/nonexistent" },
  text: `
servers:
  mlx: { runtime: mlx, model: org/model, context: 32768 }
  cold: { runtime: mlx, model: org/cold }
agents:
  gem: { harness: gemini-cli, server: mlx }
`,
});

/** Leases as the supervisor grants them: `cold` takes a while to start (the client waits on the stream). */
const leases: ServerLeases = {
  lease: async (name) => {
    if (name === "cold") await new Promise((resolve) => setTimeout(resolve, 1300));
    return { baseUrl: upstreamUrl, model: `upstream-${name}` };
  },
  release: () => {},
  endpoint: (name) => (name === "cold" ? undefined : { baseUrl: upstreamUrl }),
  status: () => Object.values(config.servers).map((server) => stoppedStatus(server)),
};
const proxy = new ModelProxy({ config: () => config, supervisor: leases, recorder: { record: () => {} } });
const gateway = createServer((req, res) => {
  void proxy.handle(req, res, (req.url ?? "/").split("?")[0]!).then((handled) => {
    if (!handled) res.writeHead(404).end();
  });
});
let gatewayUrl = "";
let client: GoogleGenAI;

before(async () => {
  upstreamUrl = await listen(upstream);
  gatewayUrl = await listen(gateway);
  client = new GoogleGenAI({ apiKey: "unused", httpOptions: { baseUrl: gatewayUrl } });
});
after(async () => {
  await proxy.close();
  gateway.close();
  upstream.close();
});

const lastChatRequest = () =>
  recorded.filter((entry) => entry.path === "/v1/chat/completions").at(-1)?.body as Json;

describe("Google's client against rig's Gemini routes", () => {
  test("generateContent: text, thoughts, finishReason and usage as the client reads them", async () => {
    const answer = await client.models.generateContent({
      model: "mlx",
      contents: "say hello",
      config: { systemInstruction: "Be brief.", maxOutputTokens: 64, temperature: 0.5 },
    });
    assert.equal(answer.text, "hello world", "the client's text leaves the thought out");
    assert.equal(answer.candidates?.[0]?.finishReason, "STOP");
    assert.deepEqual(answer.usageMetadata, {
      promptTokenCount: 12,
      candidatesTokenCount: 3,
      totalTokenCount: 17,
      cachedContentTokenCount: 4,
      thoughtsTokenCount: 2,
    });
    assert.equal(answer.modelVersion, "mlx");
    assert.deepEqual(answer.candidates?.[0]?.content?.parts?.[0], { text: "A greeting.", thought: true });
    const chat = lastChatRequest();
    assert.deepEqual(chat.messages, [
      { role: "system", content: "Be brief." },
      { role: "user", content: "say hello" },
    ]);
    assert.equal(chat.max_tokens, 64);
    assert.equal(chat.temperature, 0.5);
    assert.equal(chat.model, "upstream-mlx");
  });

  test("generateContentStream: the chunks add up to the answer, the last one carries the finish and usage", async () => {
    let text = "";
    let last: { candidates?: Array<{ finishReason?: string }>; usageMetadata?: unknown } | undefined;
    for await (const chunk of await client.models.generateContentStream({
      model: "mlx",
      contents: "stream hi",
    })) {
      text += chunk.text ?? "";
      last = chunk;
    }
    assert.equal(text, "hello world");
    assert.equal(last?.candidates?.[0]?.finishReason, "STOP");
    assert.ok(last?.usageMetadata, "the last chunk reports usage");
    assert.equal(lastChatRequest().stream, true);
  });

  test("a function the model calls comes back as functionCalls; its result goes to the runtime as a tool message", async () => {
    const tools = [
      {
        functionDeclarations: [
          {
            name: "list_directory",
            description: "list a folder",
            parametersJsonSchema: { type: "object", properties: { dir_path: { type: "string" } } },
          },
        ],
      },
    ];
    const first = await client.models.generateContent({
      model: "mlx",
      contents: "list the files",
      config: { tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.AUTO } } },
    });
    const [call] = first.functionCalls ?? [];
    assert.deepEqual(
      { name: call?.name, args: call?.args },
      { name: "list_directory", args: { dir_path: "src" } },
    );
    assert.equal(first.candidates?.[0]?.finishReason, "STOP", "Gemini ends a calling turn with STOP");
    await client.models.generateContent({
      model: "mlx",
      contents: [
        { role: "user", parts: [{ text: "list the files" }] },
        { role: "model", parts: [{ functionCall: call }] },
        {
          role: "user",
          parts: [
            { functionResponse: { id: call?.id, name: "list_directory", response: { output: "a.ts b.ts" } } },
          ],
        },
      ],
      config: { tools },
    });
    const messages = lastChatRequest().messages as Json[];
    assert.deepEqual(messages.at(-1), { role: "tool", tool_call_id: call?.id, content: "a.ts b.ts" });
    const calling = messages.at(-2) as { tool_calls: Json[] };
    assert.equal(calling.tool_calls[0]?.id, call?.id);
  });

  test("a stream whose server is still starting waits, then arrives whole", async () => {
    let text = "";
    for await (const chunk of await client.models.generateContentStream({ model: "cold", contents: "hi" }))
      text += chunk.text ?? "";
    assert.equal(text, "hello world");
  });

  test("Gemini CLI's own stream parser (the older client it bundles) reads past what waits for a cold server", () => {
    // @google/genai 1.30 as bundled by Gemini CLI 0.61: one event must start the buffer.
    const bundledParser = /^\s*data: (.*)(?:\n\n|\r\r|\r\n\r\n)/;
    const route = {
      path: "/v1beta/models/cold:streamGenerateContent",
      dialect: "gemini",
      name: "s",
    } as const;
    const waited = startingNotice(route, "cold").repeat(3);
    assert.equal(bundledParser.exec(`${waited}data: {"candidates":[]}\n\n`)?.[1], '{"candidates":[]}');
  });

  test("the model list names every server as Google names models, with its window", async () => {
    const listed: Array<{ name?: string; inputTokenLimit?: number }> = [];
    for await (const model of await client.models.list()) listed.push(model);
    assert.deepEqual(
      listed.map((model) => [model.name, model.inputTokenLimit]),
      [
        ["models/mlx", 32768],
        ["models/cold", undefined],
      ],
    );
  });

  test("countTokens is answered by estimate without the runtime", async () => {
    const before = recorded.length;
    const counted = await client.models.countTokens({ model: "mlx", contents: "hi ".repeat(400) });
    assert.ok(Number(counted.totalTokens) > 250);
    assert.equal(recorded.length, before, "the upstream was not asked");
  });

  test("a malformed request is an ApiError 400 in Google's words; an unknown model a 404 naming the served ones", async () => {
    const refused = await client.models
      .generateContent({ model: "mlx", contents: [{ role: "user", parts: [] }] })
      .catch((error: unknown) => error);
    assert.ok(refused instanceof ApiError, String(refused));
    assert.equal(refused.status, 400);
    assert.match(refused.message, /contents\.parts must not be empty/);
    assert.match(refused.message, /INVALID_ARGUMENT/);
    const unknown = await client.models
      .generateContent({ model: "gemini-2.5-pro", contents: "hi" })
      .catch((error: unknown) => error);
    assert.ok(unknown instanceof ApiError, String(unknown));
    assert.equal(unknown.status, 404);
    assert.match(unknown.message, /unknown model `gemini-2\.5-pro`.*mlx/);
  });

  test("an agent's route serves its server whatever model the client names", async () => {
    const pinned = new GoogleGenAI({
      apiKey: "unused",
      httpOptions: { baseUrl: `${gatewayUrl}/agents/gem` },
    });
    const answer = await pinned.models.generateContent({ model: "gemini-2.5-pro", contents: "say hello" });
    assert.equal(answer.text, "hello world");
  });

  test("an upstream that dies mid-stream ends the stream with an error the client throws", async () => {
    const stream = await client.models.generateContentStream({ model: "mlx", contents: "cut me" });
    const failed = await (async () => {
      for await (const _chunk of stream) {
      }
    })().catch((error: unknown) => error);
    assert.ok(failed instanceof Error, "the client sees an error, not a clean end");
    assert.match(String((failed as Error).message), /stopped mid-response|INTERNAL/);
  });
});
