// A rig.yaml broken while the gateway runs: the daemon keeps its last good config, and the commands
// that look at or stop what runs (ps, gateway status, logs, stop) still reach it, through the built CLI.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { sleep } from "../../src/system/process.ts";
import { rig } from "../support/cli.ts";
import { homesForThisFile, type TestHome } from "../support/home.ts";
import { type PsRow, scriptedServer } from "../support/stack.ts";

const newHome = homesForThisFile();

/** Where the broken key is: rig.yaml line and column, as every problem is told. */
const PROBLEM = /rig\.yaml:\d+:\d+: error: servers\.tiny\.contxt: unknown key `contxt`/;

/** Breaks rig.yaml the way a typo does: `context` becomes `contxt`. */
function breakConfig(home: TestHome): void {
  const file = join(home.root, "rig.yaml");
  home.write("rig.yaml", readFileSync(file, "utf8").replace("context:", "contxt:"));
}

/** Waits until the running gateway has logged that it did not reload the broken rig.yaml. */
async function untilReloadRefused(home: TestHome): Promise<void> {
  const log = join(home.root, "logs", "gateway.log");
  for (let i = 0; i < 200; i++) {
    if (existsSync(log) && readFileSync(log, "utf8").includes("config not reloaded")) return;
    await sleep(50);
  }
  assert.fail(`the gateway did not log the refused reload: ${readFileSync(log, "utf8")}`);
}

describe("a rig.yaml broken under a running gateway", () => {
  test("ps, gateway status, logs and stop reach the running gateway; serve still refuses", async () => {
    const home = await newHome(`servers:\n${scriptedServer("tiny", {}, "context: 2048")}`);
    const served = await rig(["serve", "tiny"], { home: home.root });
    assert.equal(served.code, 0, served.stderr);
    breakConfig(home);
    await untilReloadRefused(home);

    const ps = await rig(["ps"], { home: home.root });
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stderr, PROBLEM);
    assert.match(ps.stderr, /note: .*acting on the running gateway/);
    assert.match(ps.stdout, /tiny\s+ready/);
    const rows = JSON.parse((await rig(["ps", "--json"], { home: home.root })).stdout) as PsRow[];
    assert.deepEqual(
      rows.map((row) => [row.name, row.state]),
      [["tiny", "ready"]],
    );

    const status = await rig(["gateway", "status"], { home: home.root });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stderr, PROBLEM);
    assert.match(status.stdout, new RegExp(`gateway running on ${home.url}.*\\nservers ready: tiny`));
    const statusJson = JSON.parse((await rig(["gateway", "status", "--json"], { home: home.root })).stdout);
    assert.equal(statusJson.running, true);
    assert.equal(statusJson.url, home.url);

    // The gateway log is where the refused reload is told, so it must be readable now of all times.
    const gatewayLog = await rig(["logs", "gateway"], { home: home.root });
    assert.equal(gatewayLog.code, 0, gatewayLog.stderr);
    assert.match(gatewayLog.stderr, PROBLEM);
    assert.match(gatewayLog.stdout, /config not reloaded: .*unknown key `contxt`/);
    const tinyLog = await rig(["logs", "tiny"], { home: home.root });
    assert.equal(tinyLog.code, 0, tinyLog.stderr);
    const unknown = await rig(["logs", "tinny"], { home: home.root });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no server named `tinny`; did you mean `tiny`/);

    // Starting something from a file that is wrong stays refused.
    const serve = await rig(["serve", "tiny"], { home: home.root });
    assert.equal(serve.code, 1);
    assert.match(serve.stderr, PROBLEM);

    const stop = await rig(["stop", "tiny"], { home: home.root });
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stderr, PROBLEM);
    assert.equal(stop.stdout, "stopped tiny\n");
    const after = JSON.parse((await rig(["ps", "--json", "--all"], { home: home.root })).stdout) as PsRow[];
    assert.deepEqual(
      after.map((row) => [row.name, row.state]),
      [["tiny", "stopped"]],
    );
    const all = await rig(["stop", "--all"], { home: home.root });
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, "nothing was running\n");
  });

  test("without a running gateway, ps, status and stop fail on the problems; logs still reads logs/", async () => {
    const home = await newHome(`servers:\n${scriptedServer("tiny", {}, "context: 2048")}`);
    const served = await rig(["serve", "tiny"], { home: home.root });
    assert.equal(served.code, 0, served.stderr);
    const stopped = await rig(["gateway", "stop"], { home: home.root });
    assert.equal(stopped.code, 0, stopped.stderr);
    breakConfig(home);

    for (const args of [["ps"], ["gateway", "status"], ["stop", "tiny"], ["stop", "--all"]]) {
      const result = await rig(args, { home: home.root });
      assert.equal(result.code, 1, `rig ${args.join(" ")}: ${result.stdout}`);
      assert.match(result.stderr, PROBLEM);
      assert.doesNotMatch(result.stderr, /note:/);
    }
    // What the gateway wrote before it stopped is still there to read.
    const log = await rig(["logs", "gateway"], { home: home.root });
    assert.equal(log.code, 0, log.stderr);
    assert.match(log.stderr, PROBLEM);
    assert.match(log.stdout, /gateway stopping/);
  });
});
