import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { type TestContext, test } from "node:test";
import { GgufType, readGguf, scalarOf } from "../../src/inventory/gguf.ts";
import { freePort } from "../../src/system/ports.ts";
import { sleep } from "../../src/system/process.ts";
import { llamaServer, tinyModel } from "../support/llama.ts";

test("the tiny model is a llama GGUF with a real vocabulary and a chat template that knows tools", async () => {
  const model = readGguf(await tinyModel());
  assert.equal(scalarOf(model.metadata, "general.architecture"), "llama");
  assert.equal(scalarOf(model.metadata, "llama.block_count"), 2);
  const tokens = model.metadata.get("tokenizer.ggml.tokens");
  assert.ok(tokens?.type === GgufType.ARRAY && tokens.length > 100_000);
  assert.match(String(scalarOf(model.metadata, "tokenizer.chat_template")), /tool_call/);
});

/** Serves `model` with the real llama-server until the test ends; returns its base URL. */
async function serve(t: TestContext, model: string): Promise<string> {
  const port = await freePort();
  const server = spawn(
    llamaServer(),
    ["-m", model, "--host", "127.0.0.1", "--port", String(port), "-c", "2048", "--threads", "2"],
    { stdio: "ignore" },
  );
  t.after(() => server.kill("SIGKILL"));
  const base = `http://127.0.0.1:${port}`;
  let healthy = false;
  for (let i = 0; i < 300 && !healthy; i++) {
    healthy = await fetch(`${base}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (!healthy) await sleep(100);
  }
  assert.ok(healthy, "llama-server became healthy");
  return base;
}

interface Answer {
  choices: Array<{ message: { content: string }; finish_reason: string }>;
  usage: { completion_tokens: number };
}

async function chat(base: string, body: Record<string, unknown>): Promise<Answer> {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "hello" }], ...body }),
  });
  return (await response.json()) as Answer;
}

test("the real llama-server loads the tiny model and answers chat requests in plain words", async (t) => {
  const base = await serve(t, await tinyModel());
  const answers = await Promise.all([1, 2, 3, 4].map(() => chat(base, { max_tokens: 48 })));
  for (const answer of answers) {
    assert.equal(answer.usage.completion_tokens, 48);
    assert.match(
      answer.choices[0]!.message.content,
      /^[ a-z]+$/,
      "only ordinary lowercase words, never special tokens",
    );
  }
});

test("the tiny model that ends turns says a word before it stops, and stops on its own", async (t) => {
  const base = await serve(t, await tinyModel({ endsTurns: true }));
  // Agents take an empty answer, or one cut at max_tokens, for a failed turn. Copilot decodes greedily.
  for (const temperature of [0, 0, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 1, 1, 1, 1, 1, 1, 1, 1]) {
    const answer = await chat(base, { max_tokens: 512, temperature });
    assert.match(answer.choices[0]!.message.content, /^ ?[a-z]+( [a-z]+)*$/, `at temperature ${temperature}`);
    assert.equal(answer.choices[0]!.finish_reason, "stop");
  }
});
