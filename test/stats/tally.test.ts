// The tally behind `rig stats`: what each answer did with the tools offered, counted where rig builds
// the answer (ChatEventBuilder) and where it only relays one (tally.ts). In-process, no runtime.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChatEventBuilder, wholeAnswer } from "../../src/dialects/chat.ts";
import type { TranslationContext } from "../../src/dialects/types.ts";
import {
  failedTally,
  offeredTools,
  relayedStreamTally,
  relayedTally,
  translatedTally,
} from "../../src/gateway/tally.ts";

const context = (toolsOffered = true): TranslationContext => ({
  model: "m",
  toolNames: new Map(),
  toolsOffered,
});
const call = (index: number, name: string | undefined, args: string, id?: string) => ({
  choices: [
    {
      index: 0,
      delta: {
        tool_calls: [
          { index, ...(id ? { id } : {}), function: { ...(name ? { name } : {}), arguments: args } },
        ],
      },
      finish_reason: null,
    },
  ],
});
const text = (content: string) => ({ choices: [{ index: 0, delta: { content }, finish_reason: null }] });
const finish = (reason: string) => ({ choices: [{ index: 0, delta: {}, finish_reason: reason }] });

function streamed(chunks: Array<Record<string, unknown>>, ctx = context()) {
  const builder = new ChatEventBuilder(ctx);
  for (const chunk of chunks) builder.chunk(chunk);
  builder.end();
  return builder.report();
}

const OFFERED = ["Bash", "Read"];

describe("a translated answer's tool calls, as rig built them", () => {
  test("a well-formed call, its arguments in fragments, is made and not repaired", () => {
    const report = streamed([
      call(0, "Bash", '{"command":', "call_1"),
      call(0, undefined, ' "ls"}'),
      finish("tool_calls"),
    ]);
    assert.deepEqual(translatedTally(OFFERED, report), {
      offered: 2,
      made: 1,
      repaired: 0,
      extracted: 0,
      unoffered: 0,
      cut: false,
      upstreamError: false,
    });
  });

  test("a call with no arguments at all is not counted as repaired", () => {
    const report = streamed([call(0, "Read", "", "call_1"), finish("tool_calls")]);
    assert.equal(report.repaired, 0);
    assert.deepEqual(report.names, ["Read"]);
  });

  test("malformed arguments that rig repairs are counted, per call", () => {
    const report = streamed([
      call(0, "Bash", "{command: 'ls',}", "call_1"),
      call(1, "Read", '{"path": "a.txt"}', "call_2"),
      call(2, "Bash", '{"command": "echo cut', "call_3"),
      finish("tool_calls"),
    ]);
    assert.equal(report.names.length, 3);
    assert.equal(report.repaired, 2);
  });

  test("arguments no repair can parse are made but not counted as repaired", () => {
    const report = streamed([call(0, "Bash", "not json at all", "call_1"), finish("tool_calls")]);
    assert.equal(report.repaired, 0);
    assert.equal(report.names.length, 1);
  });

  test("calls written as text are extracted and counted; one naming a tool not offered is unoffered", () => {
    const report = streamed([
      text('Let me look.\n<tool_call>{"name": "Read", "arguments": {"path": "a"}}</tool_call>'),
      text('<tool_call>{"name": "Delete", "arguments": {}}</tool_call>'),
      finish("stop"),
    ]);
    const tally = translatedTally(OFFERED, report);
    assert.equal(tally.made, 2);
    assert.equal(tally.extracted, 2);
    assert.equal(tally.unoffered, 1);
    assert.equal(tally.repaired, 0);
  });

  test("text-looking calls are left as text when no tools were offered", () => {
    const report = streamed(
      [text('<tool_call>{"name": "Read", "arguments": {}}</tool_call>')],
      context(false),
    );
    assert.equal(report.extracted, 0);
    assert.deepEqual(report.names, []);
  });

  test("an answer cut by the token limit is counted even when it ends in a call", () => {
    const report = streamed([call(0, "Bash", '{"command": "l', "call_1"), finish("length")]);
    const tally = translatedTally(OFFERED, report);
    assert.equal(tally.cut, true);
    assert.equal(tally.repaired, 1, "the cut arguments were closed by rig");
    assert.equal(translatedTally(OFFERED, streamed([text("hi"), finish("stop")])).cut, false);
  });

  test("a whole (non-streamed) answer reports the same", () => {
    const { report } = wholeAnswer(
      {
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              tool_calls: [
                { id: "c", type: "function", function: { name: "Write", arguments: "{path: 'x'}" } },
              ],
            },
            finish_reason: "tool_calls",
          },
        ],
      },
      context(),
    );
    assert.deepEqual(translatedTally(OFFERED, report), {
      offered: 2,
      made: 1,
      repaired: 1,
      extracted: 0,
      unoffered: 1,
      cut: false,
      upstreamError: false,
    });
  });
});

describe("the tools a request offers, in every dialect", () => {
  test("chat, messages, responses and gemini tool lists", () => {
    assert.deepEqual(offeredTools({ tools: [{ type: "function", function: { name: "Bash" } }] }), ["Bash"]);
    assert.deepEqual(offeredTools({ tools: [{ name: "Bash", input_schema: {} }, { name: "Read" }] }), [
      "Bash",
      "Read",
    ]);
    assert.deepEqual(
      offeredTools({ tools: [{ type: "function", name: "exec_command" }, { type: "web_search" }] }),
      ["exec_command", "web_search"],
    );
    assert.deepEqual(offeredTools({ tools: [{ functionDeclarations: [{ name: "a" }, { name: "b" }] }] }), [
      "a",
      "b",
    ]);
    assert.deepEqual(offeredTools({ messages: [] }), []);
  });
});

describe("answers rig relays as the runtime sent them", () => {
  test("whole answers: calls counted in each dialect, none repaired or extracted, the cut read", () => {
    const chat = relayedTally(OFFERED, {
      choices: [
        {
          message: { tool_calls: [{ function: { name: "Bash" } }, { function: { name: "Nope" } }] },
          finish_reason: "length",
        },
      ],
    });
    assert.deepEqual(chat, {
      offered: 2,
      made: 2,
      repaired: 0,
      extracted: 0,
      unoffered: 1,
      cut: true,
      upstreamError: false,
    });
    const messages = relayedTally(OFFERED, {
      content: [{ type: "text" }, { type: "tool_use", name: "Read" }],
      stop_reason: "tool_use",
    });
    assert.equal(messages.made, 1);
    assert.equal(messages.cut, false);
    assert.equal(relayedTally(OFFERED, { content: [], stop_reason: "max_tokens" }).cut, true);
    const responses = relayedTally(OFFERED, {
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      output: [{ type: "function_call", name: "Bash" }],
    });
    assert.equal(responses.made, 1);
    assert.equal(responses.cut, true);
    const gemini = relayedTally(OFFERED, {
      candidates: [{ content: { parts: [{ functionCall: { name: "Edit" } }] }, finishReason: "STOP" }],
    });
    assert.equal(gemini.unoffered, 1);
    assert.equal(gemini.cut, false);
  });

  test("a relayed stream: calls unseen (null), the cut read from its last events", () => {
    const sample = [
      'data: {"choices":[{"delta":{"content":"a"},"finish_reason":null}]}',
      'data: {"choices":[{"delta":{},"finish_reason":"length"}]}',
      'data: {"choices":[],"usage":{"prompt_tokens":3}}',
      "data: [DONE]",
    ].join("\n\n");
    const tally = relayedStreamTally(OFFERED, sample);
    assert.equal(tally.made, null);
    assert.equal(tally.unoffered, null);
    assert.equal(tally.cut, true);
    assert.equal(
      relayedStreamTally(
        OFFERED,
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"}}',
      ).cut,
      false,
    );
    assert.equal(
      relayedStreamTally(
        [],
        'data: {"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}}',
      ).cut,
      true,
    );
  });

  test("an exchange the runtime failed counts as an upstream error with nothing made", () => {
    assert.deepEqual(failedTally(OFFERED), {
      offered: 2,
      made: 0,
      repaired: 0,
      extracted: 0,
      unoffered: 0,
      cut: false,
      upstreamError: true,
    });
  });
});
