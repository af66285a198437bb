import assert from "node:assert/strict";
import { test } from "node:test";
import { holderText } from "../../src/system/ports.ts";

test("a port's holder is named by pid and command line, a long one cut at a word, never mid-word", () => {
  assert.equal(holderText({ pid: 7, command: "nginx -g daemon off;" }), "pid 7 (nginx -g daemon off;)");
  const command =
    "/usr/bin/node --max-semi-space-size=4 /home/someone/projects/rig/dist/main.mjs gateway run --home /home/someone/local-llm";
  const text = holderText({ pid: 42, command });
  assert.equal(
    text,
    "pid 42 (/usr/bin/node --max-semi-space-size=4 /home/someone/projects/rig/dist/main.mjs gateway run --home …)",
  );
});
