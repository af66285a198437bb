import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isAlive } from "../../src/system/process.ts";
import { rig } from "../support/cli.ts";

test("rig demo sets up a home, explains an agent, serves the tiny model, streams an answer and stops everything", async () => {
  const home = join(mkdtempSync(join(tmpdir(), "rig-demo-")), "demo");
  const result = await rig(["demo", "--home", home], { timeoutMs: 300_000 });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /\$ rig explain claude-tiny/);
  assert.match(result.stdout, /6 server\s+tiny/);
  assert.match(
    result.stderr,
    /ready: http:\/\/127\.0\.0\.1:\d+\/v1, model "tiny" \(llama\.cpp pid \d+ on port \d+\)/,
  );
  // The demo model ends its turns at random: the stats line is what counts.
  assert.match(result.stdout, /\d+ tokens, first after \d+ ms, \d+ tokens\/s/);
  assert.match(
    result.stdout,
    /\$ rig run claude-tiny -- -p/,
    "the demo ends with a real agent (npm test installs Claude Code into rig's cache)",
  );
  assert.match(result.stdout, /Claude Code exited with 0/);
  assert.match(result.stdout, /stopped the gateway and the tiny server/);
  const history = await rig(["history", "--json"], { home });
  const [launch] = JSON.parse(history.stdout) as Array<{ stopped_at: string | null; exit: string }>;
  assert.ok(launch!.stopped_at, "the server was stopped");
  const gatewayLog = readFileSync(join(home, "logs", "gateway.log"), "utf8");
  assert.match(gatewayLog, /POST \/v1\/chat\/completions server=tiny status=200 stream/);
  const pid = Number(/pid (\d+) on port/.exec(result.stderr)?.[1]);
  assert.equal(isAlive(pid), false, "no llama-server left");

  const again = await rig(["demo", "--home", home, "--no-run"]);
  assert.equal(again.code, 0, "a second setup reuses the home");
});
