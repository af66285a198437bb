import assert from "node:assert/strict";
import { test } from "node:test";
import { sleep } from "../../src/system/process.ts";
import { rig, rigJson } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";
import { tinyServers } from "../support/stack.ts";

// Memory admission through the built CLI with the real llama-server: three tiny-model servers that
// declare 1 GB each in a 2.5 GB budget, so that at most two run at once.

const stack = homesForThisFile();
const GB = 1e9;
const BUDGET = 2.5 * GB;

interface Row {
  name: string;
  state: string;
  memory_bytes: number | null;
  memory_estimate_bytes: number | null;
}

/** One streamed chat request through the gateway, read to its end: whether it ended as a stream should. */
async function streamed(url: string, model: string): Promise<{ complete: boolean; text: string }> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      stream: true,
      max_tokens: 16,
      messages: [{ role: "user", content: "hi" }],
    }),
  });
  const text = await response.text();
  const complete =
    response.status === 200 && text.includes('"finish_reason":"') && text.trimEnd().endsWith("data: [DONE]");
  return { complete, text };
}

test("interleaved requests from several clients to three servers that do not all fit: all answered, the budget held", async (t) => {
  const yaml = await tinyServers({ a: "memory: 1GB", b: "memory: 1GB", c: "memory: 1GB" });
  const home = await stack(`memory: { ram: 2.5GB }\n${yaml}`);
  assert.equal((await rig(["gateway", "start"], { home: home.root })).code, 0);

  let held = 0;
  let measured = false;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const rows = await rigJson<Row[]>(["ps"], { home: home.root }).catch(() => [] as Row[]);
      const resident = rows.filter((row) => ["starting", "ready", "stopping"].includes(row.state));
      held = Math.max(
        held,
        resident.reduce((sum, row) => sum + (row.memory_estimate_bytes ?? 0), 0),
      );
      measured ||= resident.some((row) => (row.memory_bytes ?? 0) > 1e6);
      await sleep(200);
    }
  })();

  const names = ["a", "b", "c"];
  const clients = [0, 1, 2, 3].map(async (client) => {
    const results: boolean[] = [];
    for (let turn = 0; turn < 6; turn++) {
      const { complete, text } = await streamed(home.url, names[(client + turn) % names.length]!);
      assert.ok(complete, `client ${client} turn ${turn}: ${text.slice(-300)}`);
      results.push(complete);
    }
    return results;
  });
  const answered = (await Promise.all(clients)).flat();
  watching = false;
  await watcher;

  assert.equal(answered.filter(Boolean).length, 24, "every request answered to its end");
  assert.ok(held > 0 && held <= BUDGET, `the most held at once: ${held / GB} GB`);
  assert.ok(measured, "rig ps --json shows what a running server measured");
  const launches = await rigJson<Array<{ server: string }>>(["history"], { home: home.root });
  t.diagnostic(`24 requests, ${launches.length} starts (${launches.length - 2} swaps beyond the first two)`);
  assert.ok(launches.length >= 3, "the third server only ever ran in place of another");
});
