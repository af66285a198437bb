// A pid is signalled on the strength of a record only when its start time proves it is the process
// the record is about. Run both with /proc and as on a system without it (macOS: `ps` tells).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { reapLeftovers, savePids } from "../../src/supervisor/pidfile.ts";
import { isAlive, PROC, processStartTime, sleep } from "../../src/system/process.ts";

const scratch = mkdtempSync(join(tmpdir(), "rig-identity-"));
const children: number[] = [];
after(() => {
  for (const pid of children) if (isAlive(pid)) process.kill(-pid, "SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

/** A process in its own group, as rig spawns servers. */
function server(): number {
  const child = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });
  children.push(child.pid!);
  return child.pid!;
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(20);
  return !isAlive(pid);
}

for (const [label, proc] of [
  ["with /proc", PROC],
  ["without /proc (as on macOS)", join(scratch, "no-proc")],
] as const) {
  describe(label, () => {
    test("a process's start time is told, and the same each time", () => {
      const pid = server();
      const started = processStartTime(pid, proc);
      assert.ok(started, "a start time");
      if (proc !== PROC) assert.match(started, /^\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}$/, "ps lstart");
      assert.equal(processStartTime(pid, proc), started);
      assert.equal(processStartTime(2 ** 22 + 1, proc), undefined, "no such process");
    });

    test("a leftover whose start time matches its record is killed", async () => {
      const stateDir = mkdtempSync(join(scratch, "state-"));
      const pid = server();
      savePids(stateDir, { tiny: { pid } }, proc);
      assert.deepEqual(reapLeftovers(stateDir, proc), [`tiny (pid ${pid})`]);
      assert.ok(await gone(pid));
    });

    test("a pid whose identity cannot be confirmed is never signalled", async () => {
      const stateDir = mkdtempSync(join(scratch, "state-"));
      const unrecorded = server();
      const reused = server();
      writeFileSync(
        join(stateDir, "servers.json"),
        JSON.stringify({
          unrecorded: { pid: unrecorded },
          reused: { pid: reused, startTime: "Thu Jan  1 00:00:00 1970" },
        }),
      );
      assert.deepEqual(reapLeftovers(stateDir, proc), []);
      await sleep(100);
      assert.ok(isAlive(unrecorded, proc), "a record without a start time proves nothing");
      assert.ok(isAlive(reused, proc), "another start time is another process");
    });
  });
}
