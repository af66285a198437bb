// gateway.log is read from anywhere (rig logs gateway, a bug report): a rig.yaml that fails to reload is
// named by its absolute path, whatever folder the daemon was started from.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { sleep } from "../../src/system/process.ts";
import { RIG_MAIN } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";

const newHome = homesForThisFile();

test("a rig.yaml that does not reload is named by its absolute path, even for a daemon started from the home's parent; put back, the log says it loads again", async () => {
  const home = await newHome();
  // Started from the folder holding the home, a relative path would read `rig-test-…/rig.yaml`.
  await promisify(execFile)(process.execPath, [RIG_MAIN, "gateway", "start", "--home", home.root], {
    cwd: dirname(home.root),
    env: { ...process.env, NO_COLOR: "1" },
  });
  const file = join(home.root, "rig.yaml");
  const original = readFileSync(file, "utf8");
  writeFileSync(file, `${original}servers:\n  oops:\n    runtme: llama.cpp\n`);
  const logFile = join(home.root, "logs", "gateway.log");
  let log = "";
  for (let i = 0; i < 100 && !log.includes("config not reloaded"); i++) {
    await sleep(100);
    log = readFileSync(logFile, "utf8");
  }
  const line = log.split("\n").find((text) => text.includes("config not reloaded"));
  assert.ok(line, log);
  assert.ok(line.includes(` ${file}:5:5: error: servers.oops.runtme`), line);

  // Put back as it was: nothing changes, and the log says the file loads again.
  writeFileSync(file, original);
  for (let i = 0; i < 100 && !log.includes("config loads again"); i++) {
    await sleep(100);
    log = readFileSync(logFile, "utf8");
  }
  assert.match(log, /config loads again; unchanged \(/);
});
