// What the page derives on its own: the live log across rotations, and the speeds and cache misses it
// shows from request rows. In-process, no browser.
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { formatSize } from "../../src/config/duration.ts";
import { formatBytes } from "../../src/gateway/page/browser/dom.ts";
import { speedsOverWindow, threwCacheAway, tokensPerSecond } from "../../src/gateway/page/browser/stats.ts";
import type { RequestRow } from "../../src/gateway/page/protocol.ts";
import { rotate } from "../../src/supervisor/log.ts";
import { followLog } from "../../src/system/follow-log.ts";
import { sleep } from "../../src/system/process.ts";

const folder = mkdtempSync(join(tmpdir(), "rig-live-"));
after(() => rmSync(folder, { recursive: true, force: true }));

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await sleep(20);
  assert.ok(check(), what);
}

describe("the live log", () => {
  test("sends the last lines, then every line appended, across a rotation, in order", async () => {
    const file = join(folder, "tiny.log");
    writeFileSync(file, `${Array.from({ length: 300 }, (_, index) => `old ${index}`).join("\n")}\n`);
    const received: Array<{ lines: string[]; rotated: boolean }> = [];
    const follower = followLog(file, (lines, rotated) => received.push({ lines, rotated }), {
      lines: 5,
      intervalMs: 10,
    });
    try {
      assert.deepEqual(received, [
        { lines: ["old 295", "old 296", "old 297", "old 298", "old 299"], rotated: false },
      ]);
      appendFileSync(file, "before rotation\nwritten just before the ");
      appendFileSync(file, "rename\n");
      // What LogSink does at 10 MB: the file becomes tiny.log.1 and a new one starts.
      rotate(file);
      appendFileSync(file, "after rotation\n");
      await until(
        () => received.some((batch) => batch.lines.includes("after rotation")),
        "the new file is read",
      );
      const lines = received.slice(1).flatMap((batch) => batch.lines);
      assert.deepEqual(lines, ["before rotation", "written just before the rename", "after rotation"]);
      assert.ok(received.some((batch) => batch.rotated && batch.lines.includes("after rotation")));
    } finally {
      follower.close();
    }
  });

  test("waits for a log that does not exist yet", async () => {
    const file = join(folder, "later.log");
    const received: string[] = [];
    const follower = followLog(file, (lines) => received.push(...lines), { intervalMs: 10 });
    try {
      await sleep(50);
      writeFileSync(file, "first line\n");
      await until(() => received.length > 0, "the file is picked up when it appears");
      assert.deepEqual(received, ["first line"]);
    } finally {
      follower.close();
    }
  });
});

const row = (at: number, extra: Partial<RequestRow>): RequestRow => ({
  at: new Date(at).toISOString(),
  server: "tiny",
  agent: null,
  route: "chat",
  status: 200,
  stream: true,
  ttfb_ms: 100,
  duration_ms: 1100,
  prompt_tokens: 40,
  cached_tokens: 30,
  completion_tokens: 50,
  error: null,
  ...extra,
});

describe("numbers the page shows", () => {
  const now = Date.parse("2026-01-01T00:10:00Z");

  test("a stream's speed counts from its first token; a whole answer's from the request", () => {
    assert.equal(tokensPerSecond(row(now, {})), 50);
    assert.equal(tokensPerSecond(row(now, { stream: false })), 50_000 / 1100);
    assert.equal(tokensPerSecond(row(now, { completion_tokens: 0 })), null);
  });

  test("tokens per second over the last minute: per server, weighted by tokens, older requests left out", () => {
    const speeds = speedsOverWindow(
      [
        row(now - 30_000, {}),
        row(now - 20_000, { completion_tokens: 150, duration_ms: 1100 }),
        row(now - 120_000, { completion_tokens: 1000 }),
        row(now - 10_000, { server: "big", completion_tokens: 10, duration_ms: 2100 }),
      ],
      now,
    );
    assert.deepEqual(Object.fromEntries(speeds), { tiny: 100, big: 5 });
  });

  test("a turn whose prompt the cache served none of is flagged; an unknown count is not", () => {
    assert.equal(threwCacheAway(row(now, { cached_tokens: 0 })), true);
    assert.equal(threwCacheAway(row(now, { cached_tokens: 30 })), false);
    assert.equal(threwCacheAway(row(now, { cached_tokens: null })), false);
  });

  test("sizes read as the CLI prints them: decimal units, so 1.5e9 bytes is 1.50 GB, not 1.4", () => {
    assert.equal(formatBytes(1_500_000_000), formatSize(1_500_000_000));
    assert.equal(formatBytes(1_500_000_000), "1.50 GB");
    assert.equal(formatBytes(null), "");
  });
});
