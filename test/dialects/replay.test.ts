import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { describe, test } from "node:test";
import type { Config } from "../../src/config/loader.ts";
import { ChatEventBuilder, chatStreamOf, responseEvents } from "../../src/dialects/chat.ts";
import { TRANSLATORS } from "../../src/dialects/index.ts";
import { SseParser } from "../../src/dialects/sse.ts";
import type { Json, TranslationContext, Translator } from "../../src/dialects/types.ts";
import { bodyOf } from "../../src/gateway/plan.ts";
import { matchRoute, type Route } from "../../src/gateway/routes.ts";
import { type Answer, READERS, sseMessages } from "./read-answers.ts";

// Real traffic recorded by scripts/record-fixtures.mjs (see its header for what each file is),
// replayed through the same pieces the gateway uses: SSE parser, event builder, dialect renderer.

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));
const fixtureJson = (path: string) => JSON.parse(fixture(path).toString("utf8")) as Json;

type AgentRequest = { agent: string; path: string; body: Json };

/** A recorded request as the gateway hands it to its translator (Gemini's model and streaming are in the path). */
function routed(recorded: AgentRequest): AgentRequest {
  const match = matchRoute("POST", recorded.path.split("?")[0]!, { agents: {} } as unknown as Config);
  assert.equal(match.kind, "exchange", recorded.path);
  return { ...recorded, body: bodyOf((match as { route: Route }).route, recorded.body) };
}

/** The recorded agents' requests: the contexts the replayed answers are rendered for. */
const AGENT_REQUESTS: Record<string, AgentRequest> = {
  messages: fixtureJson("agent-requests/claude-code.json") as never,
  responses: fixtureJson("agent-requests/codex.json") as never,
  gemini: routed(fixtureJson("agent-requests/gemini-cli.json") as never),
};

/** What a Chat client reads from a recorded answer, read plainly: the oracle for every rendering. */
interface ChatReading {
  content: string;
  finish: string;
  usage: { input: number; output: number; cached: number };
  calls: Array<{ id: string; name: string; input: unknown }>;
}

function readChat(chunks: Json[]): ChatReading {
  const reading: ChatReading = {
    content: "",
    finish: "",
    usage: { input: 0, output: 0, cached: 0 },
    calls: [],
  };
  const args = new Map<number, string>();
  for (const chunk of chunks) {
    const choice = (chunk.choices as Json[] | undefined)?.[0];
    const delta = (choice?.delta ?? choice?.message ?? {}) as Json;
    if (typeof delta.content === "string") reading.content += delta.content;
    for (const call of (delta.tool_calls as Json[] | undefined) ?? []) {
      const index = call.index as number;
      const fn = call.function as { name?: string; arguments?: string };
      if (fn.name) reading.calls[index] = { id: String(call.id), name: fn.name, input: undefined };
      args.set(index, (args.get(index) ?? "") + (fn.arguments ?? ""));
    }
    if (choice?.finish_reason) reading.finish = String(choice.finish_reason);
    const usage = chunk.usage as Json | undefined;
    const timings = chunk.timings as Json | undefined;
    if (usage)
      reading.usage = {
        input: Number(usage.prompt_tokens),
        output: Number(usage.completion_tokens),
        cached: Number((usage.prompt_tokens_details as Json | undefined)?.cached_tokens ?? 0),
      };
    else if (timings && reading.usage.output === 0)
      reading.usage = {
        input: Number(timings.prompt_n) + Number(timings.cache_n ?? 0),
        output: Number(timings.predicted_n),
        cached: Number(timings.cache_n ?? 0),
      };
  }
  for (const [index, text] of args) reading.calls[index]!.input = JSON.parse(text);
  return reading;
}

function streamChunks(bytes: Buffer): Json[] {
  return new SseParser()
    .feed(bytes.toString("utf8"))
    .filter((event) => event.data !== "[DONE]")
    .map((event) => JSON.parse(event.data));
}

/** The bytes cut into pieces of the given sizes, in turn (1 = every byte on its own). */
function pieces(bytes: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, turn = 0; at < bytes.length; turn++) {
    const size = sizes[turn % sizes.length]!;
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** Byte splits: whole, every byte alone, and uneven cuts landing inside lines, JSON strings and UTF-8 characters. */
const SPLITS: Record<string, number[]> = {
  whole: [Number.MAX_SAFE_INTEGER],
  "every byte": [1],
  "7 bytes": [7],
  uneven: [3, 1, 29, 2, 64, 5, 11],
};

/** A recorded Chat stream as a client of `translator` gets it from the gateway. */
function replay(bytes: Buffer, sizes: number[], translator: Translator, context: TranslationContext): string {
  const builder = new ChatEventBuilder(context, context.thinking);
  const renderer = translator.stream(context);
  const parser = new SseParser();
  const decoder = new StringDecoder("utf8");
  let rendered = "";
  for (const piece of pieces(bytes, sizes))
    for (const event of parser.feed(decoder.write(piece)))
      if (event.data !== "[DONE]") rendered += renderer.push(builder.chunk(JSON.parse(event.data)));
  return rendered + renderer.push(builder.end()) + renderer.end();
}

function assertSays(answer: Answer, chat: ChatReading, stops: Record<string, string>, how: string): void {
  assert.equal(answer.text, chat.content, `${how}: the text is the recorded content`);
  assert.equal(answer.stop, stops[chat.finish], `${how}: finish ${chat.finish} mapped`);
  assert.deepEqual(answer.usage, chat.usage, `${how}: the runtime's usage is carried`);
  assert.deepEqual(answer.calls, chat.calls, `${how}: tool calls arrive whole, arguments intact`);
}

const STREAMS = ["llama-server-plain", "llama-server-usage", "scripted-tool-calls"];

describe("recorded Chat streams replayed into every dialect", () => {
  test("the recordings are what their names say", () => {
    const reportsUsage = (chunks: Json[]) =>
      chunks.some((chunk) => chunk.usage && typeof chunk.usage === "object");
    const plainChunks = streamChunks(fixture("chat-streams/llama-server-plain.sse"));
    const plain = readChat(plainChunks);
    assert.equal(plain.finish, "length");
    assert.ok(!reportsUsage(plainChunks), "usage was not asked for");
    assert.ok(plain.content.length > 0 && plain.usage.output > 0, "llama-server's timings count tokens");
    const usageChunks = streamChunks(fixture("chat-streams/llama-server-usage.sse"));
    assert.ok(reportsUsage(usageChunks), "usage was asked for and reported");
    assert.ok(readChat(usageChunks).usage.output > 0);
    const tools = readChat(streamChunks(fixture("chat-streams/scripted-tool-calls.sse")));
    assert.equal(tools.finish, "tool_calls");
    assert.deepEqual(
      tools.calls.map((call) => call.name),
      ["read_file", "run_shell"],
    );
  });

  for (const name of STREAMS) {
    const bytes = fixture(`chat-streams/${name}.sse`);
    const chat = readChat(streamChunks(bytes));
    for (const [dialect, translator] of Object.entries(TRANSLATORS)) {
      test(`${name} → ${dialect}: text, stop reason, usage and tool calls survive any byte split`, () => {
        const { context } = translator.toChat(AGENT_REQUESTS[dialect]!.body);
        const reader = READERS[dialect]!;
        for (const [split, sizes] of Object.entries(SPLITS)) {
          const answer = reader.stream(sseMessages(replay(bytes, sizes, translator, context)));
          assertSays(answer, chat, reader.stops, `split ${split}`);
        }
      });
    }
  }

  test("a recorded whole answer renders in every dialect, whole and as a stream", () => {
    const answer = fixtureJson("chat-streams/llama-server-whole.json");
    const chat = readChat([answer]);
    assert.equal(chat.finish, "length");
    for (const [dialect, translator] of Object.entries(TRANSLATORS)) {
      const { context } = translator.toChat(AGENT_REQUESTS[dialect]!.body);
      const reader = READERS[dialect]!;
      const whole = reader.whole(translator.respond(responseEvents(answer, context), context));
      assertSays(whole, chat, reader.stops, `${dialect} whole`);
      const asStream = Buffer.from(chatStreamOf(answer));
      const streamed = reader.stream(sseMessages(replay(asStream, [5], translator, context)));
      assertSays(streamed, chat, reader.stops, `${dialect} streamed`);
    }
  });
});

describe("the real agents' requests", () => {
  const claude = AGENT_REQUESTS.messages!;
  const codex = AGENT_REQUESTS.responses!;
  const chatOf = (dialect: string) => TRANSLATORS[dialect]!.toChat(AGENT_REQUESTS[dialect]!.body);
  const systemOf = (chat: Json) => (chat.messages as Json[]).filter((message) => message.role === "system");
  const lastUser = (chat: Json) =>
    String((chat.messages as Json[]).findLast((message) => message.role === "user")?.content);
  const toolNames = (chat: Json) =>
    ((chat.tools as Array<{ function: { name: string } }> | undefined) ?? []).map(
      (tool) => tool.function.name,
    );

  test("the recordings come from the pinned agents, streamed, with their tools", () => {
    assert.match(claude.agent, /^claude-code@/);
    assert.match(claude.path, /^\/v1\/messages/);
    assert.match(codex.agent, /^codex@/);
    assert.equal(codex.path, "/v1/responses");
    for (const { body } of [claude, codex]) {
      assert.equal(body.stream, true);
      assert.ok((body.tools as unknown[]).length > 5);
    }
  });

  test("the recordings are well-formed requests of their APIs: validation lets the real agents through", () => {
    for (const dialect of ["messages", "responses", "gemini"])
      assert.equal(TRANSLATORS[dialect]!.validate(AGENT_REQUESTS[dialect]!.body), undefined, dialect);
  });

  test("Claude Code's turn becomes one system message without the billing header, its prompt last, every tool", () => {
    const { chat, context } = chatOf("messages");
    const system = systemOf(chat);
    assert.equal(system.length, 1, "every system block and system message merged into one");
    assert.equal(chat.messages && (chat.messages as Json[])[0], system[0]);
    assert.match(String(system[0]!.content), /^You are a Claude agent/);
    assert.doesNotMatch(String(system[0]!.content), /x-anthropic-billing-header/);
    assert.match(lastUser(chat), /say hi$/);
    assert.deepEqual(
      toolNames(chat),
      (claude.body.tools as Json[]).map((tool) => tool.name),
    );
    assert.equal(chat.max_tokens, claude.body.max_tokens);
    assert.deepEqual(chat.stream_options, { include_usage: true });
    assert.equal(context.toolsOffered, true);
    assert.equal(TRANSLATORS.messages!.localAnswer(claude.body), undefined);
    assert.ok(Number(TRANSLATORS.messages!.countTokens(claude.body)?.input_tokens) > 1000);
  });

  test("Claude Code's turn passed natively loses only its billing header", () => {
    const system = claude.body.system as Json[];
    assert.match(String(system[0]!.text), /^x-anthropic-billing-header/, "the recording carries the header");
    const native = TRANSLATORS.messages!.nativeRequest(claude.body);
    assert.deepEqual(native, { ...claude.body, system: system.slice(1) });
  });

  test("Codex's turn: developer messages join the system prompt, namespaces flatten, hosted tools drop", () => {
    const { chat, context } = chatOf("responses");
    const system = systemOf(chat);
    assert.equal(system.length, 1);
    assert.match(String(system[0]!.content), /^You are a coding agent running in the Codex CLI/);
    assert.match(String(system[0]!.content), /<permissions instructions>/);
    assert.match(lastUser(chat), /say hi/);
    const tools = codex.body.tools as Json[];
    const expected = tools.flatMap((tool) =>
      tool.type === "namespace"
        ? (tool.tools as Json[]).map((inner) => inner.name)
        : tool.type === "function"
          ? [tool.name]
          : [],
    );
    assert.ok(
      tools.some((tool) => tool.type === "namespace") && tools.some((tool) => tool.type === "web_search"),
    );
    assert.deepEqual(toolNames(chat), expected);
    assert.equal(chat.tool_choice, "auto");
    assert.deepEqual(chat.stream_options, { include_usage: true });
    assert.equal(context.toolsOffered, true);
    const translator = TRANSLATORS.responses!;
    assert.equal(translator.localAnswer(codex.body), undefined, "a real turn is not a warm-up");
    assert.equal(translator.countTokens(codex.body), undefined);
    assert.deepEqual(translator.nativeRequest(codex.body), codex.body);
  });

  test("Gemini CLI's turn: its system instruction first, its session context and prompt as one user turn, every function", () => {
    const gemini = AGENT_REQUESTS.gemini!;
    assert.match(gemini.agent, /^gemini-cli@/);
    assert.match(gemini.path, /^\/v1beta\/models\/tiny:streamGenerateContent\?alt=sse$/);
    const { chat, context } = chatOf("gemini");
    const system = systemOf(chat);
    assert.equal(system.length, 1);
    assert.match(String(system[0]!.content), /^You are Gemini CLI/);
    assert.equal((chat.messages as Json[]).length, 2, "the system prompt and one user turn");
    assert.match(lastUser(chat), /^<session_context>[\s\S]*\nsay hi$/);
    const declared = (gemini.body.tools as Array<{ functionDeclarations: Json[] }>).flatMap(
      (tool) => tool.functionDeclarations,
    );
    assert.ok(declared.length > 5);
    assert.deepEqual(
      toolNames(chat),
      declared.map((declaration) => declaration.name),
    );
    const parameters = (chat.tools as Array<{ function: { parameters: unknown } }>).map(
      (tool) => tool.function.parameters,
    );
    assert.deepEqual(
      parameters,
      declared.map((declaration) => declaration.parametersJsonSchema),
      "JSON schemas pass as they are",
    );
    assert.equal(chat.model, "tiny");
    assert.deepEqual(chat.stream_options, { include_usage: true });
    assert.equal(chat.max_tokens, 16_384, "the output limit rig's adapter gave Gemini CLI");
    assert.equal(context.toolsOffered, true);
    const translator = TRANSLATORS.gemini!;
    assert.equal(translator.localAnswer(gemini.body), undefined);
    assert.ok(Number(translator.countTokens(gemini.body)?.totalTokens) > 1000);
  });
});
