import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { anthropic } from "../../src/dialects/anthropic/index.ts";
import { ChatEventBuilder, parseTextToolCalls, responseEvents } from "../../src/dialects/chat.ts";
import { ThinkSplitter } from "../../src/dialects/reasoning.ts";
import { repairJson } from "../../src/dialects/repair.ts";
import { responses } from "../../src/dialects/responses/index.ts";
import { SseParser } from "../../src/dialects/sse.ts";
import type { ChatEvent, TranslationContext } from "../../src/dialects/types.ts";

const context = (overrides: Partial<TranslationContext> = {}): TranslationContext => ({
  model: "m",
  toolNames: new Map(),
  toolsOffered: false,
  ...overrides,
});
const delta = (value: Record<string, unknown>, finish: string | null = null) => ({
  choices: [{ index: 0, delta: value, finish_reason: finish }],
});

function run(chunks: Array<Record<string, unknown>>, ctx = context(), thinking = false): ChatEvent[] {
  const builder = new ChatEventBuilder(ctx, thinking);
  return [...chunks.flatMap((chunk) => builder.chunk(chunk)), ...builder.end()];
}

const merged = (events: ChatEvent[], type: "text" | "reasoning") =>
  events
    .filter((event) => event.type === type)
    .map((event) => (event as { text: string }).text)
    .join("");

describe("the chat event model", () => {
  test("<think> tags split across chunks become reasoning; no empty text is emitted", () => {
    const events = run([
      delta({ content: "<thi" }),
      delta({ content: "nk>plan it</th" }),
      delta({ content: "ink>\n\nThe answer." }, "stop"),
    ]);
    assert.equal(merged(events, "reasoning"), "plan it");
    assert.equal(merged(events, "text"), "The answer.");
    assert.ok(events.every((event) => event.type !== "text" || event.text.length > 0));
  });

  test("a template that opened <think> itself (only </think> appears) still yields reasoning when thinking was asked for", () => {
    const events = run(
      [delta({ content: "I should greet." }), delta({ content: "</think>Hi!" })],
      context(),
      true,
    );
    assert.equal(merged(events, "reasoning"), "I should greet.");
    assert.equal(merged(events, "text"), "Hi!");
  });

  test("reasoning from reasoning_content or reasoning fields", () => {
    assert.equal(
      merged(run([delta({ reasoning_content: "a" }), delta({ reasoning: "b" })]), "reasoning"),
      "ab",
    );
  });

  test("several tool calls from fragments; finish is tool_calls even when the runtime said stop; names map back", () => {
    const ctx = context({
      toolsOffered: true,
      toolNames: new Map([["short_1234", "a_very_long_original_name"]]),
    });
    const events = run(
      [
        delta({ tool_calls: [{ index: 0, id: "a", function: { name: "short_1234", arguments: '{"x":' } }] }),
        delta({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
        delta(
          { tool_calls: [{ index: 1, id: "b", function: { name: "other", arguments: "{'y': 2,}" } }] },
          "stop",
        ),
      ],
      ctx,
    );
    assert.deepEqual(
      events.filter((event) => event.type === "tool_call").map((event) => (event as { name: string }).name),
      ["a_very_long_original_name", "other"],
    );
    assert.deepEqual(
      events
        .filter((event) => event.type === "tool_arguments")
        .map((event) => JSON.parse((event as { text: string }).text)),
      [{ x: 1 }, { y: 2 }],
    );
    assert.deepEqual(
      events.find((event) => event.type === "finish"),
      { type: "finish", reason: "tool_calls" },
    );
  });

  test("a call written as text is extracted when tools were offered: JSON form and Qwen XML form", () => {
    const json = run(
      [
        delta({
          content: 'Sure. <tool_call>\n{"name": "Bash", "arguments": {"command": "ls"}}\n</tool_call>',
        }),
      ],
      context({ toolsOffered: true }),
    );
    assert.equal(merged(json, "text").trim(), "Sure.");
    assert.deepEqual(
      json.filter((event) => event.type === "tool_call").map((event) => (event as { name: string }).name),
      ["Bash"],
    );
    assert.deepEqual(
      JSON.parse((json.find((event) => event.type === "tool_arguments") as { text: string }).text),
      { command: "ls" },
    );
    assert.deepEqual(
      parseTextToolCalls(
        "<tool_call><function=run_shell_command><parameter=command>\nls -la\n</parameter></function></tool_call>",
      ),
      [{ name: "run_shell_command", arguments: JSON.stringify({ command: "ls -la" }) }],
    );
    const untouched = run([delta({ content: "Use <tool_call> tags." })], context());
    assert.equal(
      merged(untouched, "text"),
      "Use <tool_call> tags.",
      "without tools offered, text stays text",
    );
  });

  test("almost-JSON arguments are repaired", () => {
    assert.deepEqual(JSON.parse(repairJson('```json\n{"a": 1,}\n```')), { a: 1 });
    assert.deepEqual(JSON.parse(repairJson('{"path": "/tmp/x", "lines": [1, 2')), {
      path: "/tmp/x",
      lines: [1, 2],
    });
    assert.deepEqual(JSON.parse(repairJson("{command: 'echo hi'}")), { command: "echo hi" });
    assert.equal(repairJson(""), "{}");
  });

  test("the SSE parser handles events split anywhere", () => {
    const parser = new SseParser();
    assert.deepEqual(parser.feed('data: {"a"'), []);
    assert.deepEqual(parser.feed(":1}\n\nevent: x\r\ndata: y\r\n\r\n"), [
      { event: undefined, data: '{"a":1}' },
      { event: "x", data: "y" },
    ]);
  });

  test("ThinkSplitter keeps a partial closing tag for the next chunk", () => {
    const splitter = new ThinkSplitter();
    assert.deepEqual(splitter.push("<think>abc</thi"), [{ kind: "reasoning", text: "abc" }]);
    assert.deepEqual(splitter.push("nk>ok"), [{ kind: "text", text: "ok" }]);
  });
});

describe("Anthropic Messages → Chat", () => {
  test("system as blocks without the billing header, system messages merged, consecutive user turns merged, thinking control mapped", () => {
    const { chat } = anthropic.toChat({
      model: "claude-sonnet-4-5",
      system: [
        { type: "text", text: "x-anthropic-billing-header: cc_version=1" },
        { type: "text", text: "Rule one." },
      ],
      thinking: { type: "disabled" },
      messages: [
        { role: "user", content: "a" },
        { role: "system", content: "Rule two." },
        { role: "user", content: [{ type: "text", text: "b" }] },
      ],
    });
    assert.deepEqual(chat.messages, [
      { role: "system", content: "Rule one.\n\nRule two." },
      { role: "user", content: "a\n\nb" },
    ]);
    assert.deepEqual(chat.chat_template_kwargs, { enable_thinking: false });
  });

  test("adaptive thinking (Claude Code's default) leaves the template's switch alone and still reads <think> as thinking", () => {
    const request = { model: "m", max_tokens: 64, messages: [{ role: "user", content: "a" }] };
    const adaptive = anthropic.toChat({ ...request, thinking: { type: "adaptive" } });
    assert.equal(adaptive.chat.chat_template_kwargs, undefined);
    assert.equal(adaptive.context.thinking, true);
    const enabled = anthropic.toChat({ ...request, thinking: { type: "enabled", budget_tokens: 1024 } });
    assert.deepEqual(enabled.chat.chat_template_kwargs, { enable_thinking: true });
    assert.equal(anthropic.toChat(request).context.thinking, false);
  });

  test("a whole answer: thinking, text and tool_use blocks (ids as Anthropic's), tool_use stop reason, usage net of the cache", () => {
    const ctx = context({ toolsOffered: true });
    const events = responseEvents(
      {
        choices: [
          {
            message: {
              role: "assistant",
              reasoning_content: "hmm",
              content: "Running.",
              tool_calls: [
                { id: "t1", type: "function", function: { name: "Bash", arguments: '{"command":"ls"}' } },
              ],
            },
            finish_reason: "stop",
          },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 8 } },
      },
      ctx,
    );
    const message = anthropic.respond(events, ctx) as {
      content: unknown[];
      stop_reason: string;
      usage: unknown;
    };
    assert.deepEqual(message.content, [
      { type: "thinking", thinking: "hmm", signature: "" },
      { type: "text", text: "Running." },
      { type: "tool_use", id: "toolu_t1", name: "Bash", input: { command: "ls" } },
    ]);
    assert.equal(message.stop_reason, "tool_use");
    assert.deepEqual(message.usage, {
      input_tokens: 2,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 8,
      output_tokens: 5,
    });
  });
});

describe("OpenAI Responses → Chat", () => {
  test("instructions and developer messages become system; function calls and outputs pair up; namespaces flatten; hosted tools drop; effort maps to thinking", () => {
    const { chat } = responses.toChat({
      model: "gpt-5-codex",
      instructions: "Base.",
      reasoning: { effort: "minimal" },
      input: [
        { type: "message", role: "developer", content: [{ type: "input_text", text: "Dev." }] },
        { type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] },
        { type: "function_call", call_id: "c1", name: "exec_command", arguments: '{"cmd":"ls"}' },
        { type: "function_call_output", call_id: "c1", output: "a\nb" },
        { type: "reasoning", summary: [] },
      ],
      tools: [
        { type: "function", name: "exec_command", parameters: { type: "object" } },
        {
          type: "namespace",
          name: "mcp",
          tools: [{ type: "function", name: "mcp__fs__read", parameters: { type: "object" } }],
        },
        { type: "web_search" },
      ],
    });
    assert.deepEqual(chat.messages, [
      { role: "system", content: "Base.\n\nDev." },
      { role: "user", content: "hi" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "c1", type: "function", function: { name: "exec_command", arguments: '{"cmd":"ls"}' } },
        ],
      },
      { role: "tool", tool_call_id: "c1", content: "a\nb" },
    ]);
    assert.deepEqual(
      (chat.tools as Array<{ function: { name: string } }>).map((tool) => tool.function.name),
      ["exec_command", "mcp__fs__read"],
    );
    assert.equal(chat.reasoning_effort, "minimal");
    assert.deepEqual(chat.chat_template_kwargs, { enable_thinking: false });
  });

  test("a stream renders created, items added and done in order, and completed with usage", () => {
    const ctx = context();
    const renderer = responses.stream(ctx);
    const text =
      renderer.push([
        { type: "reasoning", text: "think" },
        { type: "text", text: "Hi" },
        { type: "tool_call", index: 0, id: "c", name: "f" },
        { type: "tool_arguments", index: 0, text: "{}" },
      ]) +
      renderer.push([
        { type: "finish", reason: "tool_calls" },
        { type: "usage", input: 3, output: 4 },
      ]) +
      renderer.end();
    const types = [...text.matchAll(/^event: (\S+)$/gm)].map((match) => match[1]);
    assert.deepEqual(types, [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.reasoning_text.delta",
      "response.reasoning_text.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const completed = JSON.parse(text.trim().split("\n").at(-1)!.slice(6));
    assert.equal(completed.response.usage.total_tokens, 7);
    const sequence = [...text.matchAll(/"sequence_number":(\d+)/g)].map((match) => Number(match[1]));
    assert.deepEqual(
      sequence,
      sequence.map((_, index) => index),
    );
  });
});

test("a Messages request a runtime takes natively still loses the billing block", () => {
  assert.deepEqual(
    anthropic.nativeRequest({
      system: [
        { type: "text", text: "x-anthropic-billing-header: a=1" },
        { type: "text", text: "keep" },
      ],
    }).system,
    [{ type: "text", text: "keep" }],
  );
});
