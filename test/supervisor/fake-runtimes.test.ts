import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadConfig } from "../../src/config/loader.ts";
import { launchPlan } from "../../src/runtimes/plan.ts";
import { freePort } from "../../src/system/ports.ts";
import { isAlive, sleep } from "../../src/system/process.ts";
import { rig, rigJson } from "../support/cli.ts";
import { makeHome, type TestHome } from "../support/home.ts";
import { type PsRow, readRecord, SCRIPTED_UPSTREAM } from "../support/stack.ts";

// MLX, vLLM, Ollama and LM Studio cannot run on this machine: a scripted stand-in takes their command
// line, so the start, health and stop paths of each adapter run for real.
const homes: TestHome[] = [];
const strays: number[] = [];
after(async () => {
  for (const home of homes) await home.cleanup();
  for (const pid of strays) if (isAlive(pid)) process.kill(pid, "SIGKILL");
});

async function stack(yaml: string): Promise<TestHome> {
  const home = await makeHome(yaml);
  homes.push(home);
  return home;
}

const node = JSON.stringify(process.execPath);
const scripted = JSON.stringify(SCRIPTED_UPSTREAM);

describe("runtimes that cannot run here, through a stand-in with their command line", () => {
  for (const kind of ["vllm", "mlx", "sglang"]) {
    test(`${kind}: the exact argv is launched, health decides readiness, stop sends SIGTERM`, async () => {
      const home = await stack(
        [
          "runtimes:",
          `  ${kind}: { command: [${node}, ${scripted}] }`,
          "servers:",
          "  big:",
          `    runtime: ${kind}`,
          "    model: org/Some-Model-8B",
          "    context: 16384",
          "    args: [--extra, x]",
          "    env: { RECORD: record.jsonl, STARTUP_DELAY_MS: '300' }",
          "",
        ].join("\n"),
      );
      const served = await rig(["serve", "big"], { home: home.root });
      assert.equal(served.code, 0, served.stderr);
      const [row] = await rigJson<PsRow[]>(["ps"], { home: home.root });
      const config = await loadConfig({ home: home.root });
      const expected = launchPlan(config, config.servers.big!, row!.port!).process!.argv;
      const record = join(home.root, "record.jsonl");
      const start = readRecord(record).find((entry) => entry.event === "start")!;
      assert.deepEqual([process.execPath, ...(start.argv as string[])], expected);
      assert.ok(expected.includes("org/Some-Model-8B"), "a registry id stays an id");
      assert.ok(
        readRecord(record).some((entry) => entry.event === "request"),
        "health was polled",
      );
      assert.equal((await rig(["stop", "big"], { home: home.root })).code, 0);
      assert.ok(readRecord(record).some((entry) => entry.event === "signal" && entry.signal === "SIGTERM"));
      assert.equal(isAlive(row!.pid!), false);
    });
  }

  test("ollama: starts `ollama serve` on the profile's port, pins the tag, unloads it on stop", async () => {
    const port = await freePort();
    const home = await stack(
      [
        "runtimes:",
        `  ollama: { command: [${node}, ${scripted}] }`,
        "servers:",
        "  qwen:",
        "    runtime: ollama",
        "    model: qwen3:8b",
        `    port: ${port}`,
        "    env: { RECORD: record.jsonl }",
        "",
      ].join("\n"),
    );
    assert.equal((await rig(["serve", "qwen"], { home: home.root })).code, 0);
    const record = join(home.root, "record.jsonl");
    const start = readRecord(record).find((entry) => entry.event === "start")!;
    assert.deepEqual((start.argv as string[]).slice(1), ["serve"]);
    assert.equal((start.env as Record<string, string>).OLLAMA_HOST, `127.0.0.1:${port}`);
    const loads = () =>
      readRecord(record)
        .filter((entry) => entry.path === "/api/generate")
        .map((entry) => entry.body);
    assert.deepEqual(loads(), [{ model: "qwen3:8b", keep_alive: -1 }]);
    assert.equal((await rig(["stop", "qwen"], { home: home.root })).code, 0);
    assert.deepEqual(loads(), [
      { model: "qwen3:8b", keep_alive: -1 },
      { model: "qwen3:8b", keep_alive: 0 },
    ]);
  });

  test("ollama already running is reused, not spawned, and left running on stop", async () => {
    const port = await freePort();
    const home = await stack(`servers:\n  qwen: { runtime: ollama, model: "qwen3:8b", port: ${port} }\n`);
    const record = join(home.root, "external.jsonl");
    const external = spawn(process.execPath, [SCRIPTED_UPSTREAM, "--port", String(port)], {
      env: { ...process.env, RECORD: record },
      stdio: "ignore",
    });
    strays.push(external.pid!);
    for (let i = 0; i < 50 && !readRecord(record).length; i++) await sleep(100);
    await sleep(200);
    assert.equal((await rig(["serve", "qwen"], { home: home.root })).code, 0);
    assert.equal((await rig(["stop", "qwen"], { home: home.root })).code, 0);
    assert.equal(readRecord(record).filter((entry) => entry.event === "start").length, 1);
    assert.deepEqual(
      readRecord(record)
        .filter((entry) => entry.path === "/api/generate")
        .map((entry) => (entry.body as { keep_alive: number }).keep_alive),
      [-1, 0],
    );
    assert.ok(isAlive(external.pid!), "rig never stops a server it did not start");
  });

  test("lmstudio: `lms server start`, `lms load --identifier`, and `lms unload` on stop", async () => {
    const port = await freePort();
    const home = await stack("");
    const log = join(home.root, "lms.log");
    const lms = home.write(
      "lms",
      [
        "#!/bin/sh",
        `echo "$@" >> ${log}`,
        `if [ "$1" = server ]; then RECORD=${join(home.root, "daemon.jsonl")} nohup ${process.execPath} ${SCRIPTED_UPSTREAM} --port ${port} >/dev/null 2>&1 & echo $! > ${join(home.root, "daemon.pid")}; fi`,
        "exit 0",
        "",
      ].join("\n"),
    );
    chmodSync(lms, 0o755);
    writeFileSync(
      join(home.root, "rig.yaml"),
      `gateway: { port: ${home.port} }\nruntimes:\n  lmstudio: { command: ${JSON.stringify(lms)} }\nservers:\n  gemma: { runtime: lmstudio, model: google/gemma-3-12b, port: ${port}, context: 8192 }\n`,
    );
    const served = await rig(["serve", "gemma"], { home: home.root });
    const { readFileSync } = await import("node:fs");
    strays.push(Number(readFileSync(join(home.root, "daemon.pid"), "utf8")));
    assert.equal(served.code, 0, served.stderr);
    assert.equal((await rig(["stop", "gemma"], { home: home.root })).code, 0);
    assert.deepEqual(readFileSync(log, "utf8").trim().split("\n"), [
      `server start --port ${port}`,
      "load google/gemma-3-12b --identifier gemma -y --context-length 8192",
      "unload gemma",
    ]);
  });
});
