import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { freePort } from "../../src/system/ports.ts";
import { isAlive, sleep } from "../../src/system/process.ts";
import { rig, rigJson } from "../support/cli.ts";
import { type PsRow, scriptedServer } from "../support/stack.ts";

// A home on a 1 MB tmpfs, so the disk can really fill up under a running daemon.
const root = mkdtempSync(join(tmpdir(), "rig-full-"));
let mounted = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", root], { stdio: "pipe" });
  mounted = true;
} catch {}

after(async () => {
  if (mounted) {
    await rig(["gateway", "stop"], { home: root });
    // Lazy: a file still open by a process that is ending does not keep the mount behind.
    execFileSync("umount", ["--lazy", root]);
  }
  rmdirSync(root);
});

/** Takes every byte left on the home's filesystem. */
function fillDisk(): string {
  const filler = join(root, "filler");
  const fd = openSync(filler, "w");
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, "ENOSPC");
  } finally {
    closeSync(fd);
  }
  return filler;
}

function chat(url: string, index: number) {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "echo",
      messages: [{ role: "user", content: `hi ${index}` }],
      stream: index % 2 === 0,
    }),
  }).then(async (response) => ({ status: response.status, text: await response.text() }));
}

const metric = (metrics: string, target: string) =>
  Number(new RegExp(`^rig_write_failures_total\\{target="${target}"\\} (\\d+)$`, "m").exec(metrics)?.[1]);

describe("a full disk under a running daemon", {
  skip: !mounted && "needs `mount -t tmpfs` (root, or a container that allows it)",
}, () => {
  test("requests keep being answered, /metrics counts the failed ledger and log writes, the daemon and its server stay up", async () => {
    const port = await freePort();
    mkdirSync(join(root, "models"));
    writeFileSync(
      join(root, "rig.yaml"),
      `gateway: { host: 127.0.0.1, port: ${port} }\npaths: { models: [models], bin: bin }\nservers:\n${scriptedServer("echo")}`,
    );
    const url = `http://127.0.0.1:${port}`;
    const started = await rig(["gateway", "start"], { home: root });
    assert.equal(started.code, 0, started.stderr);
    assert.equal((await chat(url, 1)).status, 200);
    const daemon = ((await (await fetch(`${url}/health`)).json()) as { rig: { pid: number } }).rig.pid;
    const [server] = await rigJson<PsRow[]>(["ps"], { home: root });

    const filler = fillDisk();
    const answers: Array<{ status: number; text: string }> = [];
    // Batches apart in time, so that the gateway writes its batched log lines and ledger rows many times.
    for (let batch = 0; batch < 10; batch++) {
      answers.push(
        ...(await Promise.all(Array.from({ length: 6 }, (_, index) => chat(url, batch * 6 + index)))),
      );
      await sleep(150);
    }
    for (const answer of answers) {
      assert.equal(answer.status, 200, answer.text.slice(0, 300));
      assert.match(answer.text, /hello from the scripted upstream/);
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.ok(metric(metrics, "ledger") >= 1, metrics);
    assert.ok(metric(metrics, "log") >= 1, metrics);
    assert.ok(isAlive(daemon), "the daemon is still running");
    const health = (await (await fetch(`${url}/health`)).json()) as { rig: { pid: number } };
    assert.equal(health.rig.pid, daemon, "the same daemon answers");

    rmSync(filler);
    const [after] = await rigJson<PsRow[]>(["ps"], { home: root });
    assert.equal(after!.state, "ready");
    assert.equal(after!.pid, server!.pid, "its server was never stopped or restarted");
    assert.equal((await chat(url, 99)).status, 200);
  });
});
