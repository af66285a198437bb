import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ledgerLaunchEvents, Recorder } from "../../src/gateway/recorder.ts";
import { type LaunchRecord, Ledger, type RequestRecord } from "../../src/ledger/ledger.ts";
import { WriteFailures } from "../../src/ledger/write-failures.ts";
import { LogSink } from "../../src/supervisor/log.ts";
import { sleep } from "../../src/system/process.ts";

const diskFull = () => Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });

const failingWrite = (): never => {
  throw diskFull();
};

/** A ledger on a full disk: every write throws, as better-sqlite3 does. */
const fullLedger = {
  open: true,
  recordRequests: failingWrite,
  launchStarted: failingWrite,
  launchReady: failingWrite,
  launchEnded: failingWrite,
} as unknown as Ledger;

const request: RequestRecord = {
  method: "POST",
  path: "/v1/chat/completions",
  server: "tiny",
  route: "chat",
  status: 200,
  stream: false,
  startedAt: Date.now(),
  durationMs: 12,
};

const LAUNCH: LaunchRecord = {
  server: "tiny",
  runtime: "command",
  argv: ["serve"],
  env: {},
  cwd: "/",
  configHash: "c",
  profileHash: "p",
};

function counted(clock = { now: 0 }) {
  const reports: string[] = [];
  const failures = new WriteFailures(60_000, () => clock.now);
  failures.reportTo((message) => reports.push(message));
  return { failures, reports, clock };
}

describe("a write that fails never takes the stack down", () => {
  test("each failure is counted; reports come at most once a minute per target and say how many they stand for", () => {
    const { failures, reports, clock } = counted();
    for (let i = 0; i < 5; i++) failures.guard("ledger", failingWrite);
    assert.equal(failures.total("ledger"), 5);
    assert.equal(reports.length, 1);
    assert.match(
      reports[0]!,
      /^ledger write failed: SQLITE_FULL: database or disk is full; requests are still served/,
    );
    failures.guard("log", failingWrite);
    assert.equal(reports.length, 2, "another target reports on its own");
    clock.now += 59_000;
    failures.guard("ledger", failingWrite);
    assert.equal(reports.length, 2);
    clock.now += 1_000;
    failures.guard("ledger", failingWrite);
    assert.equal(reports.length, 3);
    assert.match(reports[2]!, /^ledger write failed \(6 failures since the last report\)/);
    assert.equal(failures.total("ledger"), 7);
    assert.equal(
      failures.guard("ledger", () => 42),
      42,
      "a write that works passes its result on",
    );
  });

  test("the recorder's timer drops a batch the ledger refuses; the answer was already sent and /metrics counts it", async () => {
    const { failures } = counted();
    const lines: string[] = [];
    const recorder = new Recorder((text) => lines.push(text), fullLedger, failures);
    recorder.record(request);
    recorder.record(request);
    // The batch is written from a timer: a throw there would be an uncaught exception and fail this test.
    await sleep(250);
    assert.equal(failures.total("ledger"), 1, "one batch, one failed write");
    assert.equal(lines.length, 1, "the log lines were still written");
    const metrics = recorder.prometheus([]);
    assert.match(metrics, /^rig_write_failures_total\{target="ledger"\} 1$/m);
    assert.match(metrics, /^rig_write_failures_total\{target="log"\} 0$/m);
    assert.match(metrics, /^rig_requests_total\{server="tiny",route="chat",status="200"\} 2$/m);
  });

  test("launch events that cannot be recorded still let the server start, get ready and exit", () => {
    const { failures } = counted();
    const config = { expanded: new Map(), gateway: {} } as never;
    const events = ledgerLaunchEvents(fullLedger, () => config, failures);
    const id = events.started(LAUNCH);
    assert.equal(typeof id, "number");
    events.ready(id, 10);
    events.ended(id, { exitCode: 0, signal: null, outcome: "stopped" });
    assert.equal(failures.total("ledger"), 3);
  });

  test("a launch after the daemon closed its ledger (a start that raced with the stop) fails instead of outliving it", () => {
    const ledger = new Ledger(join(mkdtempSync(join(tmpdir(), "rig-ledger-")), "rig.db"));
    ledger.close();
    const events = ledgerLaunchEvents(ledger, () => ({ expanded: new Map(), gateway: {} }) as never);
    assert.throws(() => events.started(LAUNCH), /the gateway has stopped/);
  });

  test("a log file that cannot be written: writes go on, are counted, and the tail is still kept in memory", () => {
    const { failures } = counted();
    const dir = mkdtempSync(join(tmpdir(), "rig-log-"));
    // logs/ is a file: every open fails (ENOTDIR/EEXIST), whoever runs the test, root included.
    writeFileSync(join(dir, "logs"), "");
    const log = new LogSink(join(dir, "logs", "tiny.log"), { failures });
    log.write("llama server listening\n");
    log.write("loading model\n");
    assert.ok(failures.total("log") >= 2, `counted ${failures.total("log")}`);
    assert.deepEqual(log.tail(), ["llama server listening", "loading model"]);
    log.close();
  });
});
