import assert from "node:assert/strict";
import type { ZodType } from "zod";
import {
  messagesAnswerSchema,
  messagesStreamEventSchema,
  messagesUsageSchema,
} from "../../src/dialects/anthropic/schema.ts";
import { geminiAnswerSchema, geminiErrorSchema } from "../../src/dialects/gemini/schema.ts";
import { responsesAnswerSchema, responsesStreamEventSchema } from "../../src/dialects/responses/schema.ts";
import { SseParser } from "../../src/dialects/sse.ts";
import type { Json } from "../../src/dialects/types.ts";

/** What a client reads from an answer, in any dialect: the terms the tests compare. */
export interface Answer {
  text: string;
  reasoning: string;
  /** `id` is the runtime's call id: a prefix the dialect adds (Messages `toolu_`) is read off. */
  calls: Array<{ id: string; name: string; input: unknown }>;
  /** The dialect's own word for how the answer ended (Messages stop_reason, Responses status). */
  stop: string;
  /** `input` counts the whole prompt, `cached` the part of it the runtime's cache served. */
  usage: { input: number; output: number; cached: number };
}

/** Fails unless `value` has the shape the dialect's API documents, naming where it does not. */
export function assertShape(schema: ZodType, value: unknown, what: string): void {
  const result = schema.safeParse(value);
  assert.ok(
    result.success,
    `${what} is not shaped as the API documents: ${JSON.stringify(result.error?.issues)}\n${JSON.stringify(value).slice(0, 2000)}`,
  );
}

export interface SseMessage {
  event: string;
  data: Json;
}

/** A rendered stream as a client's SSE parser sees it; every event must be whole and JSON. */
export function sseMessages(text: string): SseMessage[] {
  assert.ok(text.endsWith("\n\n"), "a stream ends on an event boundary");
  return new SseParser()
    .feed(text)
    .map(({ event, data }) => ({ event: event ?? "", data: JSON.parse(data) }));
}

/** How a client of one dialect reads answers; the stream readers fail on a badly ordered stream. */
export interface DialectReader {
  /** The dialect's word for how an answer ended, by Chat finish reason. */
  stops: Record<"stop" | "length" | "tool_calls", string>;
  whole(body: Json): Answer;
  stream(messages: SseMessage[]): Answer;
  /** The message of the error event the stream ended with (undefined: it ended normally). */
  streamError(messages: SseMessage[]): string | undefined;
}

const parsedInput = (json: string) => (json ? JSON.parse(json) : {});

function emptyAnswer(): Answer {
  return { text: "", reasoning: "", calls: [], stop: "", usage: { input: 0, output: 0, cached: 0 } };
}

/** Anthropic's input_tokens leaves out the cache: the whole prompt is the sum of the three. */
function messagesUsage(usage: Json): Answer["usage"] {
  assertShape(messagesUsageSchema, usage, "usage");
  const cached = usage.cache_read_input_tokens as number;
  return {
    input: (usage.input_tokens as number) + cached + (usage.cache_creation_input_tokens as number),
    output: usage.output_tokens as number,
    cached,
  };
}

/** A tool_use id as the runtime gave it. */
function runtimeCallId(id: unknown): string {
  assert.match(String(id), /^toolu_/, "tool_use ids are Anthropic's");
  return String(id).replace(/^toolu_/, "");
}

const DELTA_OF_BLOCK: Record<string, string[]> = {
  text: ["text_delta"],
  thinking: ["thinking_delta", "signature_delta"],
  tool_use: ["input_json_delta"],
};

const messages: DialectReader = {
  stops: { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use" },

  whole(body) {
    assertShape(messagesAnswerSchema, body, "a Messages answer");
    assert.match(String(body.id), /^msg_/);
    assert.equal(body.type, "message");
    assert.equal(body.role, "assistant");
    assert.equal(typeof body.model, "string");
    assert.equal(body.stop_sequence, null);
    const answer = emptyAnswer();
    for (const block of body.content as Json[]) {
      if (block.type === "text") answer.text += block.text;
      else if (block.type === "thinking") answer.reasoning += block.thinking;
      else if (block.type === "tool_use")
        answer.calls.push({ id: runtimeCallId(block.id), name: String(block.name), input: block.input });
      else assert.fail(`unexpected content block ${block.type}`);
    }
    answer.stop = String(body.stop_reason);
    answer.usage = messagesUsage(body.usage as Json);
    return answer;
  },

  stream(events) {
    assert.equal(events[0]?.event, "message_start", "a Messages stream opens with message_start");
    const start = events[0]!.data.message as Json;
    assert.match(String(start.id), /^msg_/);
    assert.equal(start.stop_reason, null);
    const answer = emptyAnswer();
    answer.usage = messagesUsage(start.usage as Json);
    const blocks: Json[] = [];
    const json = new Map<number, string>();
    let open: number | undefined;
    let ended = false;
    for (const [position, { event, data }] of events.entries()) {
      assert.equal(data.type, event, "each event's data names its event");
      assertShape(messagesStreamEventSchema, data, event);
      assert.ok(!ended, `${event} after message_stop`);
      const index = data.index as number;
      if (event === "content_block_start") {
        assert.equal(open, undefined, "a block starts only after the previous one stopped");
        assert.equal(index, blocks.length, "blocks are numbered from 0 without gaps");
        blocks.push(data.content_block as Json);
        open = index;
      } else if (event === "content_block_delta") {
        assert.equal(index, open, "a delta belongs to the open block");
        const delta = data.delta as Json;
        const block = blocks[index]!;
        assert.ok(
          DELTA_OF_BLOCK[String(block.type)]?.includes(String(delta.type)),
          `${delta.type} in a ${block.type} block`,
        );
        if (delta.type === "text_delta") answer.text += delta.text;
        if (delta.type === "thinking_delta") answer.reasoning += delta.thinking;
        if (delta.type === "input_json_delta") json.set(index, (json.get(index) ?? "") + delta.partial_json);
      } else if (event === "content_block_stop") {
        assert.equal(index, open, "the open block stops");
        open = undefined;
      } else if (event === "message_delta") {
        assert.equal(open, undefined, "message_delta comes after every block stopped");
        answer.stop = String((data.delta as Json).stop_reason);
        answer.usage = messagesUsage(data.usage as Json);
      } else if (event === "message_stop") {
        assert.equal(events[position - 1]?.event, "message_delta", "message_stop follows message_delta");
        ended = true;
      } else if (event === "error") {
        assert.equal(position, events.length - 1, "an error event ends the stream");
        assert.equal(open, undefined, "blocks are closed before the error");
      } else if (event !== "message_start" || position !== 0) assert.fail(`unexpected event ${event}`);
    }
    assert.ok(ended || events.at(-1)?.event === "error", "the stream ends with message_stop or error");
    blocks.forEach((block, index) => {
      if (block.type === "tool_use")
        answer.calls.push({
          id: runtimeCallId(block.id),
          name: String(block.name),
          input: parsedInput(json.get(index) ?? ""),
        });
    });
    return answer;
  },

  streamError(events) {
    const last = events.at(-1);
    return last?.event === "error" ? String((last.data.error as Json).message) : undefined;
  },
};

function responsesUsage(usage: Json): Answer["usage"] {
  const input = usage.input_tokens as number;
  const output = usage.output_tokens as number;
  assert.equal(usage.total_tokens, input + output, "total_tokens is input plus output");
  return { input, output, cached: Number((usage.input_tokens_details as Json).cached_tokens) };
}

function responseBody(body: Json, status: string): Json[] {
  assert.match(String(body.id), /^resp_/);
  assert.equal(body.object, "response");
  assert.equal(body.status, status);
  assert.equal(typeof body.created_at, "number");
  assert.equal(typeof body.model, "string");
  assert.ok(Array.isArray(body.output));
  return body.output as Json[];
}

function readOutput(output: Json[], answer: Answer): void {
  for (const item of output) {
    assert.match(String(item.id), /^(msg|rs|fc)_/);
    const content = (item.content as Json[] | undefined) ?? [];
    if (item.type === "message") answer.text += content.map((part) => part.text).join("");
    else if (item.type === "reasoning") answer.reasoning += content.map((part) => part.text).join("");
    else if (item.type === "function_call")
      answer.calls.push({
        id: String(item.call_id),
        name: String(item.name),
        input: parsedInput(String(item.arguments)),
      });
    else assert.fail(`unexpected output item ${item.type}`);
  }
}

const TEXT_DELTAS: Record<string, string> = {
  "response.output_text.delta": "message",
  "response.reasoning_text.delta": "reasoning",
  "response.function_call_arguments.delta": "function_call",
};

/** The events that end a Responses stream, by the response's status. */
const FINAL_EVENTS = ["response.completed", "response.incomplete", "response.failed"];

const responses: DialectReader = {
  stops: { stop: "completed", length: "incomplete", tool_calls: "completed" },

  whole(body) {
    assertShape(responsesAnswerSchema, body, "a Responses answer");
    const answer = emptyAnswer();
    readOutput(responseBody(body, String(body.status)), answer);
    answer.stop = String(body.status);
    answer.usage = responsesUsage(body.usage as Json);
    return answer;
  },

  stream(events) {
    assert.deepEqual(
      events.slice(0, 2).map((message) => message.event),
      ["response.created", "response.in_progress"],
      "a Responses stream opens with created and in_progress",
    );
    const added: Json[] = [];
    const streamed = new Map<number, string>();
    let open: number | undefined;
    let final: Json | undefined;
    for (const [position, { event, data }] of events.entries()) {
      assert.equal(data.type, event, "each event's data names its event");
      assert.equal(data.sequence_number, position, "sequence numbers count every event from 0");
      assertShape(responsesStreamEventSchema, data, event);
      const index = data.output_index as number | undefined;
      if (event === "response.created" || event === "response.in_progress") {
        assert.ok(position < 2, `${event} only opens the stream`);
        responseBody(data.response as Json, "in_progress");
      } else if (event === "response.output_item.added") {
        assert.equal(open, undefined, "an item is added only after the previous one is done");
        assert.equal(index, added.length, "output items are numbered from 0 without gaps");
        added.push(data.item as Json);
        open = index;
      } else if (event === "response.output_item.done") {
        assert.equal(index, open, "the open item is done");
        assert.equal((data.item as Json).id, added[index!]!.id, "done names the item that was added");
        open = undefined;
      } else if (FINAL_EVENTS.includes(event)) {
        assert.equal(position, events.length - 1, `${event} ends the stream`);
        assert.equal(open, undefined, "every item is done before the response ends");
        final = data.response as Json;
      } else {
        assert.equal(index, open, `${event} belongs to the open item`);
        assert.equal(data.item_id, added[index!]!.id, `${event} names the open item`);
        const kind = TEXT_DELTAS[event];
        if (kind) {
          assert.equal(added[index!]!.type, kind, `${event} in a ${added[index!]!.type} item`);
          streamed.set(index!, (streamed.get(index!) ?? "") + data.delta);
        }
      }
    }
    assert.ok(final, `the stream ends with one of ${FINAL_EVENTS.join(", ")}`);
    const output = responseBody(final, String(final.status));
    assert.deepEqual(
      output.map((item) => item.id),
      added.map((item) => item.id),
      "the final response carries every item that was added",
    );
    const answer = emptyAnswer();
    readOutput(output, answer);
    const fromDeltas = emptyAnswer();
    readOutput(
      added.map((item, index) => {
        const text = streamed.get(index) ?? "";
        if (item.type === "function_call") return { ...item, arguments: text };
        return { ...item, content: [{ text }] };
      }),
      fromDeltas,
    );
    assert.deepEqual(
      { text: fromDeltas.text, reasoning: fromDeltas.reasoning, calls: fromDeltas.calls },
      { text: answer.text, reasoning: answer.reasoning, calls: answer.calls },
      "the deltas add up to the final response",
    );
    answer.stop = String(final.status);
    if (final.usage) answer.usage = responsesUsage(final.usage as Json);
    return answer;
  },

  streamError(events) {
    const last = events.at(-1);
    if (last?.event !== "response.failed") return undefined;
    return String(((last.data.response as Json).error as Json).message);
  },
};

/** Gemini counts the prompt whole (cached tokens included) and thinking apart from the candidates. */
function geminiUsage(usage: Json): Answer["usage"] {
  const candidates = usage.candidatesTokenCount as number;
  const thoughts = (usage.thoughtsTokenCount as number | undefined) ?? 0;
  assert.equal(usage.totalTokenCount, (usage.promptTokenCount as number) + candidates + thoughts);
  return {
    input: usage.promptTokenCount as number,
    output: candidates + thoughts,
    cached: (usage.cachedContentTokenCount as number | undefined) ?? 0,
  };
}

/** The parts of one Gemini response (whole or a chunk), added to what was read so far. */
function readParts(body: Json, answer: Answer): void {
  const [candidate] = body.candidates as Json[];
  for (const part of (candidate!.content as Json).parts as Json[]) {
    const call = part.functionCall as Json | undefined;
    if (call) answer.calls.push({ id: String(call.id), name: String(call.name), input: call.args });
    else if (part.thought) answer.reasoning += part.text;
    else answer.text += part.text;
  }
}

const gemini: DialectReader = {
  stops: { stop: "STOP", length: "MAX_TOKENS", tool_calls: "STOP" },

  whole(body) {
    assertShape(geminiAnswerSchema, body, "a GenerateContentResponse");
    const answer = emptyAnswer();
    readParts(body, answer);
    const [candidate] = body.candidates as Json[];
    answer.stop = String(candidate!.finishReason);
    answer.usage = geminiUsage(body.usageMetadata as Json);
    return answer;
  },

  stream(events) {
    const answer = emptyAnswer();
    let responseId: unknown;
    let ended = false;
    for (const [position, { event, data }] of events.entries()) {
      assert.equal(event, "", "Gemini's chunks are unnamed events");
      assert.ok(!ended, "nothing follows the chunk with the finishReason");
      if (data.error) {
        assertShape(geminiErrorSchema, data, "an error chunk");
        assert.equal(position, events.length - 1, "an error chunk ends the stream");
        continue;
      }
      assertShape(geminiAnswerSchema, data, "a stream chunk");
      responseId ??= data.responseId;
      assert.equal(data.responseId, responseId, "every chunk names the same response");
      readParts(data, answer);
      const [candidate] = data.candidates as Json[];
      assert.equal(
        candidate!.finishReason === undefined,
        data.usageMetadata === undefined,
        "usage comes with the finish",
      );
      if (candidate!.finishReason === undefined) continue;
      answer.stop = String(candidate!.finishReason);
      answer.usage = geminiUsage(data.usageMetadata as Json);
      ended = true;
    }
    assert.ok(ended || events.at(-1)?.data.error, "the stream ends with a finishReason or an error");
    return answer;
  },

  streamError(events) {
    const error = events.at(-1)?.data.error as Json | undefined;
    return error ? String(error.message) : undefined;
  },
};

/** A reader for every dialect rig translates, by the translator's dialect. */
export const READERS: Record<string, DialectReader> = { messages, responses, gemini };
