// The gateway's request path in-process: ModelProxy over a fake lease table and the scripted upstream
// running in this process (no build, no child process). What a client sees when a stream is relayed,
// translated, cut, or its server fails to start, and what the ledger is told.
import assert from "node:assert/strict";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { loadConfig } from "../../src/config/loader.ts";
import { fallbackNotice } from "../../src/gateway/exchange.ts";
import { ModelProxy, type ServerLeases } from "../../src/gateway/proxy.ts";
import type { Route } from "../../src/gateway/routes.ts";
import type { RequestRecord } from "../../src/ledger/ledger.ts";
import { stoppedStatus } from "../../src/supervisor/status.ts";
// @ts-expect-error: a plain .mjs helper without types
import { scriptedUpstream } from "../support/scripted-upstream.mjs";

const listen = async (server: HttpServer) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const replies = [
  { match: "cut me", deltas: [{ content: "one " }, { content: "two " }, { content: "three" }], die_after: 2 },
  { match: "slow", deltas: [{ content: "a" }], delay_ms: 400 },
  {
    deltas: [{ content: "hello " }, { content: "world" }],
    usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
  },
];
const upstream = scriptedUpstream({ replies }) as HttpServer;
let upstreamUrl = "";
const config = await loadConfig({
  home: "/nonexistent/rig-exchange-test",
  env: { HOME: "/nonexistent" },
  text: `
servers:
  llama: { runtime: llama.cpp, model: models/tiny.gguf }
  mlx: { runtime: mlx, model: org/model }
  broken: { runtime: mlx, model: org/broken }
`,
});

/** Leases as the supervisor grants them: `broken` fails to start after a while, with its log tail. */
class FakeLeases implements ServerLeases {
  inFlight = new Map<string, number>();
  async lease(name: string) {
    if (name === "broken") {
      await new Promise((resolve) => setTimeout(resolve, 1300));
      throw Object.assign(new Error("broken exited while starting"), {
        logTail: ["error: unknown model architecture"],
      });
    }
    this.inFlight.set(name, (this.inFlight.get(name) ?? 0) + 1);
    return { baseUrl: upstreamUrl, model: `upstream-${name}` };
  }
  release(name: string) {
    this.inFlight.set(name, (this.inFlight.get(name) ?? 0) - 1);
  }
  endpoint(name: string) {
    return name === "broken" ? undefined : { baseUrl: upstreamUrl };
  }
  status() {
    return Object.values(config.servers).map(stoppedStatus);
  }
}

const leases = new FakeLeases();
const records: RequestRecord[] = [];
const proxy = new ModelProxy({
  config: () => config,
  supervisor: leases,
  recorder: { record: (entry) => records.push(entry) },
});
const gateway = createServer((req, res) => {
  void proxy.handle(req, res, (req.url ?? "/").split("?")[0]!).then((handled) => {
    if (!handled) res.writeHead(404).end();
  });
});
let url = "";
const lastRecord = () => records.at(-1)!;
const until = async (check: () => boolean) => {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 5000) assert.fail("timed out waiting for the gateway to record the exchange");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};
const post = (path: string, body: unknown, init: RequestInit = {}) =>
  fetch(url + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    ...init,
  });

before(async () => {
  upstreamUrl = await listen(upstream);
  url = await listen(gateway);
});
after(async () => {
  await proxy.close();
  gateway.close();
  upstream.close();
});

describe("gateway exchange, in-process", () => {
  test("a native Chat stream is relayed as the runtime sent it, with the leased model and usage recorded", async () => {
    const response = await post("/v1/chat/completions", {
      model: "llama",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    assert.equal(response.headers.get("x-rig-server"), "llama");
    const text = await response.text();
    assert.match(text, /"model":"upstream-llama"/);
    assert.match(text, /"content":"hello "/);
    assert.ok(text.trimEnd().endsWith("data: [DONE]"));
    await until(() => lastRecord()?.server === "llama");
    assert.deepEqual(
      { status: lastRecord().status, stream: lastRecord().stream, usage: lastRecord().usage },
      { status: 200, stream: true, usage: { prompt: 7, completion: 2 } },
    );
    assert.equal(leases.inFlight.get("llama"), 0, "the lease is released");
  });

  test("Messages to a Chat-only runtime are translated for the official Anthropic client, streamed and whole", async () => {
    const client = new Anthropic({ baseURL: url, apiKey: "unused" });
    const request = { model: "mlx", max_tokens: 50, messages: [{ role: "user" as const, content: "hi" }] };
    const whole = await client.messages.create(request);
    assert.deepEqual(whole.content, [{ type: "text", text: "hello world" }]);
    assert.equal(whole.usage.output_tokens, 2);
    const streamed = await client.messages.stream(request).finalMessage();
    assert.deepEqual(streamed.content, [{ type: "text", text: "hello world" }]);
    assert.equal(streamed.stop_reason, "end_turn");
  });

  test("a runtime that dies mid-stream: the translated client gets its dialect's error event, not a hang", async () => {
    const response = await post("/v1/messages", {
      model: "mlx",
      max_tokens: 50,
      stream: true,
      messages: [{ role: "user", content: "cut me" }],
    });
    const text = await response.text();
    assert.match(text, /"text":"one "/);
    assert.match(text, /event: error\ndata: .*stopped mid-response/);
    await until(() => lastRecord()?.status === 502);
  });

  test("a runtime that dies mid-stream: the native client gets an error chunk and [DONE]", async () => {
    const response = await post("/v1/chat/completions", {
      model: "llama",
      stream: true,
      messages: [{ role: "user", content: "cut me" }],
    });
    const text = await response.text();
    assert.match(text, /"error":\{"message":"server llama stopped mid-response/);
    assert.ok(text.trimEnd().endsWith("data: [DONE]"));
  });

  test("a server that fails to start: a streaming client got keep-alive comments, then an error event with the log tail", async () => {
    const response = await post("/v1/messages", {
      model: "broken",
      max_tokens: 5,
      stream: true,
      messages: [{ role: "user", content: "x" }],
    });
    const text = await response.text();
    assert.match(text, /^: rig is starting broken/);
    assert.match(
      text,
      /event: error\ndata: .*failed to start: broken exited while starting.*unknown model architecture/s,
    );
    await until(() => lastRecord()?.server === "broken");
    assert.equal(lastRecord().status, 503);
  });

  test("a server that fails to start: a whole request gets 503 in the caller's dialect", async () => {
    const response = await post("/v1/messages", {
      model: "broken",
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(response.status, 503);
    const body = (await response.json()) as {
      type: string;
      error: { type: string; message: string; rig: boolean };
    };
    assert.equal(body.type, "error");
    assert.equal(body.error.rig, true);
    assert.match(body.error.message, /unknown model architecture/);
  });

  test("a client that hangs up is recorded as 499 and its lease released", async () => {
    const abort = new AbortController();
    const response = post(
      "/v1/chat/completions",
      { model: "llama", messages: [{ role: "user", content: "slow" }] },
      { signal: abort.signal },
    );
    setTimeout(() => abort.abort(), 100);
    await assert.rejects(response);
    await until(() => lastRecord()?.status === 499);
    assert.equal(lastRecord().error, "client disconnected");
    assert.equal(leases.inFlight.get("llama"), 0);
  });

  test("count_tokens for a runtime that cannot count is answered by rig, without a lease", async () => {
    const before = leases.inFlight.get("mlx") ?? 0;
    const response = await post("/v1/messages/count_tokens", {
      model: "mlx",
      messages: [{ role: "user", content: "count these words" }],
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { input_tokens: number };
    assert.ok(body.input_tokens > 0);
    assert.equal(leases.inFlight.get("mlx") ?? 0, before);
  });

  test("bad input is refused in the caller's dialect and recorded", async () => {
    const anthropic = await fetch(`${url}/v1/messages`, { method: "POST", body: "{not json" });
    assert.equal(anthropic.status, 400);
    const error = (await anthropic.json()) as { type: string; error: { message: string } };
    assert.equal(error.type, "error");
    assert.match(error.error.message, /^invalid JSON body/);
    const openai = await post("/v1/chat/completions", { model: "nope", messages: [] });
    assert.equal(openai.status, 404);
    assert.match(
      ((await openai.json()) as { error: { message: string } }).error.message,
      /unknown model `nope`/,
    );
    await until(() => lastRecord()?.status === 404);
  });
});

describe("gateway exchange: the retry rule", () => {
  test("a connection the runtime resets before answering is retried once; the client never sees it", async () => {
    let attempts = 0;
    const flaky = createServer((req, res) => {
      attempts++;
      if (attempts === 1) return req.socket.destroy();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "x",
          object: "chat.completion",
          choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
        }),
      );
    });
    const flakyUrl = await listen(flaky);
    const saved = upstreamUrl;
    upstreamUrl = flakyUrl;
    try {
      const response = await post("/v1/chat/completions", { model: "llama", messages: [] });
      assert.equal(response.status, 200);
      assert.equal(
        ((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message
          .content,
        "ok",
      );
      assert.equal(attempts, 2);
    } finally {
      upstreamUrl = saved;
      flaky.close();
    }
  });

  test("a runtime that answered an error is never retried", async () => {
    let attempts = 0;
    const failing = createServer((_req, res) => {
      attempts++;
      res.writeHead(500, { "content-type": "application/json" }).end('{"error":{"message":"boom"}}');
    });
    const saved = upstreamUrl;
    upstreamUrl = await listen(failing);
    try {
      const response = await post("/v1/chat/completions", { model: "llama", messages: [] });
      assert.equal(response.status, 500);
      assert.equal(attempts, 1);
    } finally {
      upstreamUrl = saved;
      failing.close();
    }
  });
});

test("a fallback notice is one SSE comment line whatever the reason holds; Gemini's client gets a blank line", () => {
  const chat: Route = { path: "/v1/chat/completions", dialect: "chat", name: "chat" };
  const gemini: Route = { path: "/v1beta/models/m:streamGenerateContent", dialect: "gemini", name: "gemini" };
  assert.equal(
    fallbackNotice(chat, "big", "failed to start: exited\nlast log lines:\nout of memory", "small"),
    ": rig: big could not answer (failed to start: exited); trying small\n\n",
  );
  assert.equal(fallbackNotice(gemini, "big", "answered 503", "small"), "\n");
});
