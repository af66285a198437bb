// The ledger's side of `rig stats`: tallies kept in `requests` (migration 6 upgrades an older ledger),
// summed per agent, server or both since a time; the same counts in /metrics.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { stripVTControlCharacters } from "node:util";
import Database from "better-sqlite3";
import { UsageError } from "../../src/cli/errors.ts";
import { sinceTime, statsTable } from "../../src/cli/stats.ts";
import { Recorder } from "../../src/gateway/recorder.ts";
import { Ledger, MIGRATIONS, type RequestRecord, type ToolTally } from "../../src/ledger/ledger.ts";

const folders: string[] = [];
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});
const tempDb = () => {
  const folder = mkdtempSync(join(tmpdir(), "rig-stats-"));
  folders.push(folder);
  return join(folder, "rig.db");
};

const tally = (extra: Partial<ToolTally> = {}): ToolTally => ({
  offered: 3,
  made: 1,
  repaired: 0,
  extracted: 0,
  unoffered: 0,
  cut: false,
  upstreamError: false,
  ...extra,
});
const request = (agent: string | undefined, server: string, at: string, extra: Partial<RequestRecord> = {}) =>
  ({
    method: "POST",
    path: "/v1/messages",
    agent,
    server,
    route: "messages",
    status: 200,
    stream: true,
    startedAt: Date.parse(at),
    durationMs: 10,
    usage: { prompt: 100, completion: 5, cached: 80 },
    tools: tally(),
    ...extra,
  }) satisfies RequestRecord;

const RECORDS: RequestRecord[] = [
  request("claude", "up", "2026-03-01T10:00:00Z", { tools: tally({ repaired: 1, unoffered: 1 }) }),
  request("claude", "up", "2026-03-01T11:00:00Z", {
    tools: tally({ made: 2, extracted: 2, cut: true }),
    usage: { prompt: 100, completion: 5, cached: 0 },
  }),
  request("codex", "up", "2026-03-01T12:00:00Z", {
    tools: tally({ made: 0, upstreamError: true }),
    status: 502,
  }),
  request("codex", "other", "2026-03-01T12:30:00Z", { tools: tally({ made: null, unoffered: null }) }),
  // Refused before any answer path: counted as a request, with no tally.
  request(undefined, "up", "2026-03-01T13:00:00Z", { tools: undefined, usage: undefined, status: 400 }),
];

describe("rig stats from the ledger", () => {
  const path = tempDb();
  const ledger = new Ledger(path);
  ledger.recordRequests(RECORDS);

  test("per agent and server: every count summed, cache reuse over the turns that reported it", () => {
    const rows = ledger.stats(["agent", "server"]);
    const claude = rows.find((row) => row.agent === "claude");
    assert.deepEqual(claude, {
      agent: "claude",
      server: "up",
      requests: 2,
      tools_offered: 6,
      tool_calls: 3,
      tool_calls_repaired: 1,
      tool_calls_extracted: 2,
      tool_calls_unoffered: 1,
      tool_calls_unseen: 0,
      answers_cut: 1,
      upstream_errors: 0,
      prompt_tokens: 200,
      cached_tokens: 80,
      cache_reuse: 0.4,
      cache_misses: 1,
    });
    const codexOther = rows.find((row) => row.agent === "codex" && row.server === "other")!;
    assert.equal(codexOther.tool_calls_unseen, 1, "a natively relayed stream's calls are unseen, not zero");
    assert.equal(codexOther.tool_calls, 0);
    const byModel = rows.find((row) => row.agent === null)!;
    assert.equal(byModel.requests, 1);
    assert.equal(byModel.cache_reuse, null);
    assert.equal(rows.length, 4);
  });

  test("per agent and per server", () => {
    const agents = ledger.stats(["agent"]);
    assert.deepEqual(
      agents.map((row) => [row.agent, row.requests, row.upstream_errors]),
      [
        ["claude", 2, 0],
        ["codex", 2, 1],
        [null, 1, 0],
      ],
    );
    assert.ok(agents.every((row) => !("server" in row)));
    const servers = ledger.stats(["server"]);
    assert.deepEqual(
      servers.map((row) => [row.server, row.requests, row.tool_calls]),
      [
        ["up", 4, 3],
        ["other", 1, 0],
      ],
    );
  });

  test("since a time: only the requests from then on", () => {
    const rows = ledger.stats(["agent"], "2026-03-01T12:00:00.000Z");
    assert.deepEqual(
      rows.map((row) => [row.agent, row.requests]),
      [
        ["codex", 2],
        [null, 1],
      ],
    );
    assert.deepEqual(ledger.stats(["agent"], "2027-01-01T00:00:00.000Z"), []);
  });

  test("a read-only ledger (how rig stats opens it) answers the same", () => {
    const reader = new Ledger(path, { readonly: true });
    assert.deepEqual(reader.stats(["server"]), ledger.stats(["server"]));
    reader.close();
  });

  test("migration 6 upgrades a ledger written before it: old rows count as requests without tallies", () => {
    const old = tempDb();
    const db = new Database(old);
    for (const sql of MIGRATIONS.slice(0, 5)) db.exec(sql);
    db.pragma("user_version = 5");
    db.prepare(
      "INSERT INTO requests (at, server, agent, route, status, stream, duration_ms) VALUES ('2026-01-01T00:00:00.000Z', 'up', 'claude', 'messages', 200, 1, 5)",
    ).run();
    db.close();
    const upgraded = new Ledger(old);
    upgraded.recordRequests([request("claude", "up", "2026-03-01T10:00:00Z")]);
    const [row] = upgraded.stats(["agent", "server"]);
    assert.equal(row!.requests, 2);
    assert.equal(row!.tool_calls, 1);
    assert.equal(row!.tools_offered, 3);
    upgraded.close();
  });
});

describe("rig stats on the command line", () => {
  test("--since is a duration back from now; anything else is a usage error that shows the forms", () => {
    const now = Date.parse("2026-03-01T12:00:00.000Z");
    assert.equal(sinceTime("1h", now), "2026-03-01T11:00:00.000Z");
    assert.equal(sinceTime("30m", now), "2026-03-01T11:30:00.000Z");
    assert.equal(sinceTime(undefined, now), undefined);
    assert.throws(
      () => sinceTime("yesterday", now),
      (error: unknown) =>
        error instanceof UsageError && /e\.g\. 1h, 1d or 30m; got "yesterday"/.test(error.message),
    );
  });

  test("the table: one line per group, unseen calls marked and explained only when there are some", () => {
    const ledger = new Ledger(tempDb());
    ledger.recordRequests(RECORDS);
    const rows = ledger.stats(["agent", "server"]);
    ledger.close();
    const text = stripVTControlCharacters(statsTable(rows, ["agent", "server"]));
    const lines = text.split("\n");
    assert.match(lines[0]!, /^AGENT\s+SERVER\s+REQUESTS\s+TOOLS OFFERED\s+CALLS\s/);
    assert.match(text, /^claude\s+up\s+2\s+6\s+3\s+1\s+2\s+1\s+1\s+0\s+40% \(1 missed\)$/m);
    assert.match(text, /^codex\s+other\s+1\s+3\s+0 \(\+1 streams unseen\)\s/m);
    assert.match(text, /^\(by model name\)\s+up\s+1\s/m);
    assert.match(text, /^calls: streams unseen: requests streamed natively/m);
    const seenOnly = stripVTControlCharacters(
      statsTable(
        rows.filter((row) => row.agent === "claude"),
        ["agent", "server"],
      ),
    );
    assert.doesNotMatch(seenOnly, /streams unseen/);
  });

  test("requests the gateway refused before routing show as refused, not as a nameless server", () => {
    const ledger = new Ledger(tempDb());
    ledger.recordRequests([
      { ...request(undefined, "x", "2026-03-01T10:00:00Z"), server: undefined, status: 404 },
    ]);
    const rows = ledger.stats(["agent", "server"]);
    ledger.close();
    assert.match(
      stripVTControlCharacters(statsTable(rows, ["agent", "server"])),
      /^\(none\)\s+\(refused\)\s+1\s/m,
    );
  });
});

describe("/metrics carries the same counts per agent and server", () => {
  test("requests, tools offered, calls by kind, cut answers and upstream errors", () => {
    const recorder = new Recorder(() => {});
    for (const record of RECORDS) recorder.record(record);
    const text = recorder.prometheus([]);
    const value = (series: string) => {
      const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
      assert.ok(line, `${series} is in /metrics`);
      return Number(line.split(" ").pop());
    };
    assert.equal(value('rig_agent_requests_total{agent="claude",server="up"}'), 2);
    assert.equal(value('rig_agent_requests_total{agent="",server="up"}'), 1);
    assert.equal(value('rig_tools_offered_total{agent="claude",server="up"}'), 6);
    assert.equal(value('rig_tool_calls_total{agent="claude",server="up",kind="made"}'), 3);
    assert.equal(value('rig_tool_calls_total{agent="claude",server="up",kind="repaired"}'), 1);
    assert.equal(value('rig_tool_calls_total{agent="claude",server="up",kind="extracted"}'), 2);
    assert.equal(value('rig_tool_calls_total{agent="claude",server="up",kind="unoffered"}'), 1);
    assert.equal(value('rig_answers_cut_total{agent="claude",server="up"}'), 1);
    assert.equal(value('rig_upstream_errors_total{agent="codex",server="up"}'), 1);
    assert.equal(value('rig_tool_calls_total{agent="codex",server="other",kind="made"}'), 0);
    assert.match(text, /# TYPE rig_tool_calls_total counter/);
  });
});
