// A 4xx is the caller's mistake in every dialect: a GET where POST is taken, and a runtime's 422 relayed
// through translation, are `invalid_request_error` (OpenAI, Anthropic) or INVALID_ARGUMENT (Gemini).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { rig } from "../support/cli.ts";
import { homesForThisFile, type TestHome } from "../support/home.ts";
import { scriptedServer } from "../support/stack.ts";

const newHome = homesForThisFile();

/** A gateway in front of a chat-only upstream that refuses every request with 422, as vLLM does a bad field. */
async function refusingUpstream(): Promise<TestHome> {
  const home = await newHome(`servers:\n${scriptedServer("strict", { SCRIPT: "script.json" })}`);
  writeFileSync(
    join(home.root, "script.json"),
    JSON.stringify([{ status: 422, body: { error: { message: "temperature must be at most 2" } } }]),
  );
  const started = await rig(["gateway", "start"], { home: home.root });
  assert.equal(started.code, 0, started.stderr);
  return home;
}

/** An error body in any of the three shapes: Anthropic's `type` beside `error`, Google's `status` in it. */
interface ErrorAnswer {
  status: number;
  body: { type?: string; error: { type?: string; status?: string; message: string } };
}

async function answer(response: Response): Promise<ErrorAnswer> {
  return { status: response.status, body: (await response.json()) as ErrorAnswer["body"] };
}

describe("error types for a caller's mistake", () => {
  test("GET on a POST route: 405 with the caller's-error type in OpenAI, Anthropic and Gemini shape", async () => {
    const home = await refusingUpstream();
    const chat = await answer(await fetch(`${home.url}/v1/chat/completions`));
    assert.equal(chat.status, 405);
    assert.equal(chat.body.error.type, "invalid_request_error");
    assert.match(chat.body.error.message, /\/v1\/chat\/completions takes POST/);

    const messages = await answer(await fetch(`${home.url}/v1/messages`));
    assert.equal(messages.status, 405);
    assert.equal(messages.body.type, "error");
    assert.equal(messages.body.error.type, "invalid_request_error");

    const gemini = await answer(await fetch(`${home.url}/v1beta/models/strict:generateContent`));
    assert.equal(gemini.status, 405);
    assert.equal(gemini.body.error.status, "INVALID_ARGUMENT");
  });

  test("a runtime's 422 reaches an Anthropic or Gemini client as its dialect's caller's error, not a server error", async () => {
    const home = await refusingUpstream();
    const post = (path: string, body: unknown) =>
      fetch(`${home.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then(answer);
    const messages = await post("/v1/messages", {
      model: "strict",
      max_tokens: 16,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(messages.status, 422);
    assert.equal(messages.body.error.type, "invalid_request_error");
    assert.match(messages.body.error.message, /temperature must be at most 2/);

    const gemini = await post("/v1beta/models/strict:generateContent", {
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
    });
    assert.equal(gemini.status, 422);
    assert.equal(gemini.body.error.status, "INVALID_ARGUMENT");
  });
});
