// `rig stop` tells which servers it stopped and which were not running, through the built CLI.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { rig, rigJson } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";
import { scriptedServer } from "../support/stack.ts";

const newHome = homesForThisFile();

describe("rig stop", () => {
  test("reports only the servers it stopped", async () => {
    const home = await newHome(`servers:\n${scriptedServer("tiny")}${scriptedServer("fixed")}`);
    const idle = await rig(["stop", "tiny"], { home: home.root });
    assert.equal(idle.code, 0, idle.stderr);
    assert.equal(idle.stdout, "tiny was not running (the gateway is not running)\n");

    assert.equal((await rig(["serve", "tiny"], { home: home.root })).code, 0);
    const first = await rig(["stop", "tiny"], { home: home.root });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, "stopped tiny\n");
    const second = await rig(["stop", "tiny"], { home: home.root });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, "tiny was not running\n");

    assert.equal((await rig(["serve", "tiny"], { home: home.root })).code, 0);
    const all = await rig(["stop", "--all"], { home: home.root });
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, "stopped tiny\n");
    const none = await rig(["stop", "--all"], { home: home.root });
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, "nothing was running\n");
  });

  test("--json says which were stopped and which were not running", async () => {
    const home = await newHome(`servers:\n${scriptedServer("tiny")}${scriptedServer("fixed")}`);
    assert.equal((await rig(["serve", "fixed"], { home: home.root })).code, 0);
    assert.deepEqual(await rigJson(["stop", "--all"], { home: home.root }), {
      stopped: ["fixed"],
      not_running: ["tiny"],
    });
    assert.deepEqual(await rigJson(["stop", "fixed"], { home: home.root }), {
      stopped: [],
      not_running: ["fixed"],
    });
  });
});
