// Durations rig has to time: one longer than a timer holds (24.8 days) would fire at once, so the
// config refuses it where it is written.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig } from "../../src/config/loader.ts";
import { ConfigError } from "../../src/config/problems.ts";

function homeWith(yaml: string): string {
  const root = mkdtempSync(join(tmpdir(), "rig-timers-"));
  writeFileSync(join(root, "rig.yaml"), yaml);
  return root;
}

test("a ttl or timeout longer than 24.8 days is refused with file:line:col and what to write instead", async () => {
  const root = homeWith(
    [
      "servers:",
      "  keep:",
      "    runtime: remote",
      "    url: http://127.0.0.1:9/v1",
      "    ttl: 30d",
      "    timeout: { start: 0, response: 25d }",
      "",
    ].join("\n"),
  );
  const error = await loadConfig({ home: root, env: {} }).then(
    () => assert.fail("the config loaded"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof ConfigError, String(error));
  const shown = error.problems.map((problem) => ({
    at: `${problem.where?.line}:${problem.where?.col}`,
    path: problem.path,
    message: problem.message,
  }));
  assert.deepEqual(shown, [
    {
      at: "5:10",
      path: "servers.keep.ttl",
      message: "ttl 30d is longer than rig can time (24.8 days at most); 0 keeps the server loaded",
    },
    {
      at: "6:36",
      path: "servers.keep.timeout.response",
      message: "timeout.response 25d is longer than rig can time (24.8 days at most); 0 means no limit",
    },
  ]);
});

test("24 days, and 0 for never, load as written", async () => {
  const root = homeWith(
    "servers:\n  keep: { runtime: remote, url: http://127.0.0.1:9/v1, ttl: 24d, timeout: { start: 0, response: 0 } }\n",
  );
  const { servers } = await loadConfig({ home: root, env: {} });
  assert.equal(servers.keep!.ttlMs, 24 * 86_400_000);
  assert.equal(servers.keep!.startTimeoutMs, 0);
  assert.equal(servers.keep!.responseTimeoutMs, 0);
});

test("a peer's timeout longer than 24.8 days is refused where it is written", async () => {
  const root = homeWith(
    ["peers:", "  far:", "    url: http://127.0.0.1:9", "    timeout: 30d", ""].join("\n"),
  );
  const error = await loadConfig({ home: root, env: {} }).then(
    () => assert.fail("the config loaded"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof ConfigError, String(error));
  assert.deepEqual(
    error.problems.map((problem) => ({
      at: `${problem.where?.line}:${problem.where?.col}`,
      path: problem.path,
      message: problem.message,
    })),
    [
      {
        at: "4:14",
        path: "peers.far.timeout",
        message: "timeout 30d is longer than rig can time (24.8 days at most); 0 means no limit",
      },
    ],
  );
});
