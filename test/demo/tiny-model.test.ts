import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
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

test("the real llama-server loads the tiny model and answers chat requests in plain words", async (t) => {
  const port = await freePort();
  const server = spawn(
    llamaServer(),
    ["-m", await tinyModel(), "--host", "127.0.0.1", "--port", String(port), "-c", "2048", "--threads", "2"],
    {
      stdio: "ignore",
    },
  );
  t.after(() => server.kill("SIGKILL"));
  let healthy = false;
  for (let i = 0; i < 300 && !healthy; i++) {
    healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (!healthy) await sleep(100);
  }
  assert.ok(healthy, "llama-server became healthy");
  const answers = await Promise.all(
    [1, 2, 3, 4].map(() =>
      fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "hello" }], max_tokens: 48 }),
      }).then(
        (response) =>
          response.json() as Promise<{
            choices: Array<{ message: { content: string } }>;
            usage: { completion_tokens: number };
          }>,
      ),
    ),
  );
  for (const answer of answers) {
    assert.equal(answer.usage.completion_tokens, 48);
    assert.match(
      answer.choices[0]!.message.content,
      /^[ a-z]+$/,
      "only ordinary lowercase words, never special tokens",
    );
  }
});
