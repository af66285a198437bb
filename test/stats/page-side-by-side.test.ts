// The page's "agents side by side" table: the daemon's stats route and the cells the browser renders.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { statsTable } from "../../src/cli/stats.ts";
import { sideBySideCells } from "../../src/gateway/page/browser/stats.ts";
import { pageHtml } from "../../src/gateway/page/html.ts";
import { Recorder } from "../../src/gateway/recorder.ts";
import { Ledger, type RequestRecord } from "../../src/ledger/ledger.ts";

const folder = mkdtempSync(join(tmpdir(), "rig-side-by-side-"));
after(() => rmSync(folder, { recursive: true, force: true }));

const request = (agent: string, at: string, tools: RequestRecord["tools"]): RequestRecord => ({
  method: "POST",
  path: "/v1/messages",
  agent,
  server: "up",
  route: "messages",
  status: 200,
  stream: true,
  startedAt: Date.parse(at),
  durationMs: 5,
  usage: { prompt: 200, completion: 4, cached: 150 },
  tools,
});

test("the recorder's stats include the batch not yet written, from a time on; the cells say what rig stats says", () => {
  const ledger = new Ledger(join(folder, "rig.db"));
  const recorder = new Recorder(() => {}, ledger);
  const tally = {
    offered: 2,
    made: 2,
    repaired: 1,
    extracted: 1,
    unoffered: 0,
    cut: true,
    upstreamError: false,
  };
  recorder.record(request("claude", "2026-01-01T00:00:00Z", tally));
  recorder.record(request("claude", "2026-02-01T00:00:00Z", tally));
  recorder.record(request("codex", "2026-02-01T00:00:00Z", { ...tally, made: null, unoffered: null }));
  const rows = recorder.stats(["agent", "server"], "2026-01-15T00:00:00.000Z");
  assert.deepEqual(
    rows.map((row) => [row.agent, row.requests]),
    [
      ["claude", 1],
      ["codex", 1],
    ],
  );
  assert.deepEqual(sideBySideCells(rows[0]!), [
    "claude",
    "up",
    "1",
    "2",
    "2",
    "1",
    "1",
    "0",
    "1",
    "0",
    "75%",
  ]);
  assert.equal(sideBySideCells(rows[1]!)[4], "0 (+1 streams unseen)");
  ledger.close();
});

test("the page's table head names the columns rig stats prints, in the same order, with their hints", () => {
  const html = pageHtml({ home: "/home/someone", version: "0.1.0", adminToken: "t".repeat(32) });
  const head = /<table id="side-by-side-table"><thead><tr>\n(.*)\n<\/tr>/.exec(html)?.[1] ?? "";
  const titles = [...head.matchAll(/<th scope="col"[^>]*>([^<]*)<\/th>/g)].map((match) => match[1]);
  assert.deepEqual(titles, [
    "agent",
    "server",
    "requests",
    "tools offered",
    "calls",
    "repaired",
    "extracted",
    "unoffered",
    "cut",
    "upstream errors",
    "cache reuse",
  ]);
  assert.match(head, /title="prompt tokens the runtime&#39;s cache served">cache reuse</);
  const cli = stripVTControlCharacters(statsTable([], ["agent", "server"])).split("\n")[0]!;
  assert.deepEqual(
    cli.split(/\s{2,}/),
    titles.map((title) => title!.toUpperCase()),
  );
});
