// `rig ps` after rig.yaml changed under a running server, through the built CLI.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sleep } from "../../src/system/process.ts";
import { rig, rigJson } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";
import { type PsRow, scriptedServer } from "../support/stack.ts";

const newHome = homesForThisFile();

test("a server whose profile changed while it runs is stale in the table and in --json", async () => {
  const home = await newHome(`servers:\n${scriptedServer("tiny")}`);
  assert.equal((await rig(["serve", "tiny"], { home: home.root })).code, 0);
  const [before] = await rigJson<Array<PsRow & { stale: boolean }>>(["ps"], { home: home.root });
  assert.equal(before!.stale, false);
  const yaml = readFileSync(join(home.root, "rig.yaml"), "utf8");
  home.write("rig.yaml", `${yaml}    notes: measured again\n    args: [--verbose]\n`);
  let row = before!;
  for (let i = 0; i < 50 && !row.stale; i++) {
    await sleep(100);
    row = (await rigJson<Array<PsRow & { stale: boolean }>>(["ps"], { home: home.root }))[0]!;
  }
  assert.equal(row.stale, true, "--json says the running launch is not what rig.yaml says now");
  assert.equal(row.state, "ready", "it keeps serving until its next use");
  assert.match((await rig(["ps"], { home: home.root })).stdout, /ready \(stale\)/);
});
