// `rig logs`: the last lines of a log, and -f across a rotation, through the built CLI.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { rotate } from "../../src/supervisor/log.ts";
import { sleep } from "../../src/system/process.ts";
import { RIG_MAIN, rig } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";

const newHome = homesForThisFile();

/** A home whose gateway log holds `lines`; returns the home's root and the log's path. */
async function homeWithLog(lines: string[]): Promise<{ root: string; log: string }> {
  const home = await newHome();
  mkdirSync(join(home.root, "logs"), { recursive: true });
  const log = join(home.root, "logs", "gateway.log");
  writeFileSync(log, `${lines.join("\n")}\n`);
  return { root: home.root, log };
}

describe("rig logs", () => {
  test("-n N prints the last N lines; -n 0 prints none", async () => {
    const { root } = await homeWithLog(["one", "two", "three"]);
    const two = await rig(["logs", "gateway", "-n", "2"], { home: root });
    assert.equal(two.code, 0, two.stderr);
    assert.equal(two.stdout, "two\nthree\n");
    const none = await rig(["logs", "gateway", "-n", "0"], { home: root });
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, "");
  });

  test("a last line the server had no time to end (a crash) is shown, and counts as one of the N", async () => {
    const { root, log } = await homeWithLog(["one", "two"]);
    appendFileSync(log, "Segmentation fault");
    const tail = await rig(["logs", "gateway", "-n", "2"], { home: root });
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(tail.stdout, "two\nSegmentation fault\n");
  });

  test("-f keeps the line written just before a rotation, then reads the new file", async () => {
    const { root, log } = await homeWithLog(["earlier", "latest before following"]);
    const child = spawn(process.execPath, [RIG_MAIN, "logs", "gateway", "-f", "-n", "1"], {
      env: { ...process.env, RIG_HOME: root, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const until = async (text: string) => {
      for (let i = 0; i < 200 && !stdout.includes(text); i++) await sleep(50);
      assert.ok(stdout.includes(text), `rig logs -f printed "${text}": ${stdout}${stderr}`);
    };
    try {
      await until("latest before following");
      // Between two polls: a last line, then what LogSink does at 10 MB (rename to .1, start anew).
      appendFileSync(log, "last line of the old file\n");
      rotate(log);
      appendFileSync(log, "first line of the new file\n");
      await until("first line of the new file");
      assert.equal(
        stdout,
        "latest before following\nlast line of the old file\nfirst line of the new file\n",
      );
      assert.equal(child.exitCode, null, "-f keeps running");
    } finally {
      child.kill();
    }
  });
});
