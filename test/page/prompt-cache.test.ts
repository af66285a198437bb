// Prompt-cache reuse per request: read from every runtime's usage shape, kept in the ledger, counted in
// /metrics, and shown by the page's activity route. The last test is a real second turn through rig.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { Recorder } from "../../src/gateway/recorder.ts";
import { usageFromSse, usageOf } from "../../src/gateway/usage.ts";
import { Ledger, MIGRATIONS, type RequestRecord, type RequestRow } from "../../src/ledger/ledger.ts";
import { rig } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";
import { tinyServers } from "../support/stack.ts";

const folders: string[] = [];
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});
const tempDb = () => {
  const folder = mkdtempSync(join(tmpdir(), "rig-ledger-"));
  folders.push(folder);
  return join(folder, "rig.db");
};

const record = (usage: RequestRecord["usage"], extra: Partial<RequestRecord> = {}): RequestRecord => ({
  method: "POST",
  path: "/v1/chat/completions",
  server: "tiny",
  route: "chat",
  status: 200,
  stream: false,
  startedAt: Date.parse("2026-01-02T03:04:05Z"),
  durationMs: 20,
  usage,
  ...extra,
});

describe("cached prompt tokens are read from every usage shape", () => {
  test("OpenAI-style prompt_tokens_details.cached_tokens (llama-server, vLLM, SGLang)", () => {
    assert.deepEqual(
      usageOf({
        usage: { prompt_tokens: 35, completion_tokens: 8, prompt_tokens_details: { cached_tokens: 34 } },
      }),
      { prompt: 35, completion: 8, cached: 34 },
    );
  });

  test("llama-server's timings alone: prompt_n leaves out what the cache served, cache_n says how much", () => {
    assert.deepEqual(usageOf({ timings: { cache_n: 30, prompt_n: 5, predicted_n: 3 } }), {
      prompt: 35,
      completion: 3,
      cached: 30,
    });
    assert.deepEqual(
      usageOf({ usage: { prompt_tokens: 35, completion_tokens: 3 }, timings: { cache_n: 30, prompt_n: 5 } }),
      { prompt: 35, completion: 3, cached: 30 },
      "a usage without details takes cache_n from the timings beside it",
    );
  });

  test("Messages: input_tokens is net of cache reads and writes, so the prompt adds them back", () => {
    assert.deepEqual(
      usageOf({ type: "message", usage: { input_tokens: 1, cache_read_input_tokens: 34, output_tokens: 8 } }),
      { prompt: 35, completion: 8, cached: 34 },
    );
    assert.deepEqual(
      usageOf({
        usage: {
          input_tokens: 2,
          cache_creation_input_tokens: 10,
          cache_read_input_tokens: 0,
          output_tokens: 1,
        },
      }),
      { prompt: 12, completion: 1, cached: 0 },
    );
    // llama-server's native Messages stream: the cache count in message_start, the output in message_delta.
    const stream = [
      'data: {"type":"message_start","message":{"usage":{"cache_read_input_tokens":34,"input_tokens":1,"output_tokens":0}}}',
      'data: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":8}}',
    ].join("\n\n");
    assert.deepEqual(usageFromSse(stream), { prompt: 35, completion: 8, cached: 34 });
  });

  test("Responses: input_tokens already counts the cached part", () => {
    assert.deepEqual(
      usageOf({
        response: {
          usage: { input_tokens: 35, output_tokens: 8, input_tokens_details: { cached_tokens: 34 } },
        },
      }),
      { prompt: 35, completion: 8, cached: 34 },
    );
  });

  test("no cache count at all stays unknown, not zero", () => {
    assert.deepEqual(usageOf({ usage: { prompt_tokens: 7, completion_tokens: 2 } }), {
      prompt: 7,
      completion: 2,
    });
  });
});

describe("the ledger and /metrics keep the cached tokens", () => {
  test("a ledger written before the column existed gains it; old rows keep their values", () => {
    const path = tempDb();
    const old = new Database(path);
    // The ledger as the first two migrations left it, before cached tokens were kept.
    old.exec(MIGRATIONS.slice(0, 2).join(";\n"));
    old.exec(`INSERT INTO requests (at, server, route, status, stream, duration_ms, prompt_tokens, completion_tokens)
        VALUES ('2025-12-01T00:00:00.000Z', 'tiny', 'chat', 200, 0, 5, 10, 2);
      PRAGMA user_version = 2;`);
    old.close();
    const ledger = new Ledger(path);
    ledger.recordRequests([
      record({ prompt: 35, completion: 8, cached: 34 }, { agent: "claude-tiny", stream: true, ttfbMs: 7 }),
    ]);
    const [latest, earlier] = ledger.requests();
    assert.deepEqual(latest, {
      id: 2,
      at: "2026-01-02T03:04:05.000Z",
      server: "tiny",
      agent: "claude-tiny",
      route: "chat",
      status: 200,
      stream: true,
      ttfb_ms: 7,
      duration_ms: 20,
      prompt_tokens: 35,
      cached_tokens: 34,
      completion_tokens: 8,
      error: null,
    } satisfies RequestRow);
    assert.equal(earlier!.prompt_tokens, 10);
    assert.equal(earlier!.cached_tokens, null);
    assert.deepEqual(
      ledger.requests({ agent: "claude-tiny" }).map((row) => row.id),
      [2],
    );
    assert.deepEqual(ledger.requests({ server: "other" }), []);
    ledger.close();
  });

  test("/metrics counts rig_prompt_tokens_cached_total beside the prompt tokens; the page hears each request", () => {
    const ledger = new Ledger(tempDb());
    const recorder = new Recorder(() => {}, ledger);
    const heard: RequestRow[] = [];
    const stop = recorder.onRequest((row) => heard.push(row));
    recorder.record(record({ prompt: 35, completion: 8, cached: 0 }));
    recorder.record(record({ prompt: 36, completion: 8, cached: 34 }));
    stop();
    recorder.record(record({ prompt: 5, completion: 1 }));
    const metrics = recorder.prometheus([]);
    assert.match(metrics, /rig_tokens_total\{server="tiny",kind="prompt"\} 76\n/);
    assert.match(
      metrics,
      /# TYPE rig_prompt_tokens_cached_total counter\nrig_prompt_tokens_cached_total\{server="tiny"\} 34\n/,
    );
    assert.deepEqual(
      heard.map((row) => row.cached_tokens),
      [0, 34],
    );
    assert.deepEqual(
      recorder.recent().map((row) => row.cached_tokens),
      [null, 34, 0],
      "rows still in the batch are read too",
    );
    ledger.close();
  });
});

describe("a second turn with the same prefix, through rig to the real llama-server", () => {
  const home = homesForThisFile();

  test("shows cached tokens above zero in the ledger (the page's activity route) and in /metrics", async () => {
    const stack = await home(await tinyServers());
    assert.equal((await rig(["gateway", "start"], { home: stack.root })).code, 0);
    const system =
      "You are a careful assistant. Answer briefly, in plain words, and say when you are unsure.";
    const turn = async (path: string, body: Record<string, unknown>) => {
      const response = await fetch(`${stack.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "tiny", max_tokens: 4, ...body }),
      });
      assert.equal(response.status, 200, await response.text());
    };
    const chat = {
      messages: [
        { role: "system", content: system },
        { role: "user", content: "hello there" },
      ],
    };
    await turn("/v1/chat/completions", chat);
    await turn("/v1/chat/completions", chat);
    await turn("/v1/chat/completions", { ...chat, stream: true });
    await turn("/v1/messages", {
      system,
      messages: [{ role: "user", content: "hello there" }],
      stream: true,
    });
    const rows = (await (await fetch(`${stack.url}/rig/v1/requests?server=tiny`)).json()) as RequestRow[];
    const [messages, streamed, second, first] = rows;
    assert.equal(first!.cached_tokens, 0, "the first turn had nothing cached");
    for (const [name, row] of Object.entries({ second, streamed, messages })) {
      assert.ok(row!.cached_tokens! > 0, `${name}: cached ${row!.cached_tokens} of ${row!.prompt_tokens}`);
      assert.ok(
        row!.prompt_tokens! > row!.cached_tokens!,
        `${name}: the prompt total counts the cached part`,
      );
    }
    assert.equal(messages!.route, "messages");
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    const cached = Number(/rig_prompt_tokens_cached_total\{server="tiny"\} (\d+)/.exec(metrics)?.[1]);
    assert.equal(cached, second!.cached_tokens! + streamed!.cached_tokens! + messages!.cached_tokens!);
  });
});
