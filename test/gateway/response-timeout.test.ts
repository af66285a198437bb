// timeout.response: 0 means "never" all the way down to undici, which takes 0 as "no timer" for both
// the wait for headers and the silence between body chunks.
import assert from "node:assert/strict";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { Upstream } from "../../src/gateway/upstream.ts";
// @ts-expect-error: a plain .mjs helper without types
import { scriptedUpstream } from "../support/scripted-upstream.mjs";

test("a response timeout of 0 waits out a slow first byte and slow chunks instead of cutting them", async () => {
  const server = scriptedUpstream({
    replies: [
      { deltas: [{ content: "late " }, { content: "and slow" }], delay_ms: 300, chunk_delay_ms: 300 },
    ],
  }) as HttpServer;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const upstream = new Upstream();
  try {
    const chunks: Buffer[] = [];
    const outcome = await upstream.relay(
      {
        url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`),
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "hi" }] }),
        timeoutMs: 0,
        abort: new AbortController().signal,
      },
      {
        start: () => {},
        data: (chunk) => chunks.push(chunk) > 0,
        waitDrain: (resume) => resume(),
      },
    );
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.status, 200);
    const text = Buffer.concat(chunks).toString();
    assert.match(text, /"content":"late "/);
    assert.match(text, /"content":"and slow"/);
    assert.match(text, /data: \[DONE\]/);
  } finally {
    await upstream.close();
    server.close();
  }
});
