// How rig runs a build tool (npm, cmake, git): a tool that cannot start is named, a failing one
// brings its last lines, and the environment and folder it is given are the ones it runs in.
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { test } from "node:test";
import { runTool } from "../../src/install/build-tools.ts";

test("a tool that cannot be started is named", async () => {
  await assert.rejects(runTool(["rig-no-such-tool", "--version"], { env: { PATH: "/nonexistent" } }), {
    message: /^could not run rig-no-such-tool: .*ENOENT/,
  });
});

test("a tool runs in the given folder and environment; its lines are passed on, and kept when it fails", async () => {
  const lines: string[] = [];
  const script = 'echo "$PWD $RIG_TOOL_TEST"; echo oops >&2; exit 3';
  await assert.rejects(
    runTool(["sh", "-c", script], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH, RIG_TOOL_TEST: "given" },
      onLine: (line) => lines.push(line),
    }),
    { message: /failed \(exit 3\):\n.*given\noops$|failed \(exit 3\):\noops\n.*given$/ },
  );
  assert.ok(lines.includes(`${tmpdir()} given`), `lines: ${JSON.stringify(lines)}`);
  assert.ok(lines.includes("oops"));
});
