// `rig history <name>`: a name rig.yaml does not define is a typo, said as `rig logs` and `rig stop` say it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { rig } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";
import { scriptedServer } from "../support/stack.ts";

const newHome = homesForThisFile();

test("rig history <unknown>: exit 1, `no server named` with a suggestion; a defined server never launched has no launches", async () => {
  const home = await newHome(`servers:\n${scriptedServer("echo", {}, "aliases: [e]")}`);
  const typo = await rig(["history", "eho"], { home: home.root });
  assert.equal(typo.code, 1, typo.stdout);
  assert.match(typo.stderr, /no server named `eho`; did you mean `echo`\?/);
  assert.equal(typo.stdout, "");
  const typoJson = await rig(["history", "eho", "--json"], { home: home.root });
  assert.equal(typoJson.code, 1, "--json does not turn a typo into an empty list");

  for (const name of ["echo", "e"]) {
    const never = await rig(["history", name], { home: home.root });
    assert.equal(never.code, 0, never.stderr);
    assert.equal(never.stdout, "no launches recorded yet\n");
  }
});
