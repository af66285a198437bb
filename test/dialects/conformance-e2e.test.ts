// Dialect conformance against the real llama-server serving the tiny model, through the built CLI's
// gateway with `translate: always` (what every chat-only runtime gets), spoken to by the official
// SDKs. Every answer, whole and streamed, is read by the dialect's reader, which checks it against the
// dialect's schemas. Needs `npm run build` and llama-server; run it under the heavy-test lock.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import type { Json } from "../../src/dialects/types.ts";
import { rig, rigJson } from "../support/cli.ts";
import { makeHome, type TestHome } from "../support/home.ts";
import { type PsRow, tinyServers } from "../support/stack.ts";
import { READERS, type SseMessage } from "./read-answers.ts";

let home: TestHome;
before(async () => {
  home = await makeHome(await tinyServers({ tiny: "translate: always" }));
  const started = await rig(["gateway", "start"], { home: home.root });
  assert.equal(started.code, 0, started.stderr);
});
after(async () => {
  await home.cleanup();
});

/** A prompt long enough that the runtime's prompt cache has something to serve on the next turn. */
const PROMPT = `Say hello to the user. ${"Keep it short and friendly. ".repeat(12)}`;

/** SDK stream events as the reader takes them: each event's data names its event. */
const asMessages = (events: Array<{ type: string }>): SseMessage[] =>
  events.map((event) => ({ event: event.type, data: event as unknown as Json }));

const tinyState = async () =>
  (await rigJson<PsRow[]>(["ps", "--all"], { home: home.root })).find((row) => row.name === "tiny")?.state;

describe("requests the real APIs refuse are refused before any server starts", () => {
  test("Messages without messages: 400 invalid_request_error naming the field, and the server still stopped", async () => {
    const anthropic = new Anthropic({ baseURL: home.url, apiKey: "unused", maxRetries: 0 });
    const refused = await anthropic.messages
      .create({ model: "tiny", max_tokens: 8 } as never)
      .catch((error: unknown) => error);
    assert.ok(refused instanceof Anthropic.BadRequestError, String(refused));
    assert.deepEqual((refused.error as { error: Json }).error.type, "invalid_request_error");
    assert.equal((refused.error as { error: Json }).error.message, "messages: Field required");

    const openai = new OpenAI({ baseURL: `${home.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const wrong = await openai.responses
      .create({ model: "tiny", input: 42 as never })
      .catch((error: unknown) => error);
    assert.ok(wrong instanceof OpenAI.BadRequestError, String(wrong));
    assert.match(wrong.message, /Invalid type for 'input': expected one of a string or an array/);

    assert.equal(await tinyState(), "stopped", "nothing was started for a refused request");
  });
});

describe("answers through translation are shaped as the real APIs document, and report the cache", () => {
  test("Messages: a whole turn, then a streamed second turn on the same prefix that reads the cache", async () => {
    const anthropic = new Anthropic({ baseURL: home.url, apiKey: "unused" });
    const first = await anthropic.messages.create({
      model: "tiny",
      max_tokens: 8,
      messages: [{ role: "user", content: PROMPT }],
    });
    const whole = READERS.messages!.whole(first as unknown as Json);
    assert.equal(whole.stop, "max_tokens", "the tiny model never stops by itself");
    assert.equal(whole.usage.output, 8);

    const events: Array<{ type: string }> = [];
    const stream = anthropic.messages.stream({
      model: "tiny",
      max_tokens: 8,
      messages: [
        { role: "user", content: PROMPT },
        { role: "assistant", content: whole.text },
        { role: "user", content: "And once more." },
      ],
    });
    // The SDK builds its final message inside message_start's object: keep each event as it came.
    stream.on("streamEvent", (event) => events.push(structuredClone(event)));
    const second = await stream.finalMessage();
    const streamed = READERS.messages!.stream(asMessages(events));
    assert.ok(streamed.usage.cached > 0, `the second turn read the cache: ${JSON.stringify(second.usage)}`);
    assert.equal(
      second.usage.cache_read_input_tokens,
      streamed.usage.cached,
      "the SDK reads the cache count",
    );
    assert.ok(streamed.usage.input > whole.usage.input, "the whole prompt is input plus cache reads");
  });

  test("Responses: a whole turn, then a streamed second turn on the same prefix that reads the cache", async () => {
    const openai = new OpenAI({ baseURL: `${home.url}/v1`, apiKey: "unused" });
    const first = await openai.responses.create({ model: "tiny", input: PROMPT, max_output_tokens: 8 });
    // `output_text` is the SDK's own convenience, not part of the answer on the wire.
    const { output_text, ...wire } = first;
    const whole = READERS.responses!.whole(wire as unknown as Json);
    assert.equal(whole.stop, "incomplete", "cut by max_output_tokens");
    assert.deepEqual(first.incomplete_details, { reason: "max_output_tokens" });
    assert.equal(output_text, whole.text);

    const stream = await openai.responses.create({
      model: "tiny",
      stream: true,
      max_output_tokens: 8,
      input: [
        { role: "user", content: PROMPT },
        { role: "assistant", content: whole.text },
        { role: "user", content: "And once more." },
      ],
    });
    const events: Array<{ type: string }> = [];
    for await (const event of stream) events.push(event);
    const streamed = READERS.responses!.stream(asMessages(events));
    assert.equal(events.at(-1)?.type, "response.incomplete");
    assert.ok(streamed.usage.cached > 0, "the second turn read the cache");
    assert.ok(streamed.usage.cached < streamed.usage.input, "cached tokens are part of the input");
  });
});
