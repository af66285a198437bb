import { readdirSync, readFileSync } from "node:fs";
import { isAlive } from "../../src/system/process.ts";

/** Live processes whose environment names this rig home: its daemon and everything started under it. */
export function processesOf(home: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    if (Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (environ.includes(`RIG_HOME=${home}`) && isAlive(Number(entry))) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/**
 * Ends what agents left running under these homes after their run (Cline starts a hub daemon that
 * outlives it and has no option to stay in the foreground); returns how many there were.
 */
export function killLeftovers(homes: string[]): number {
  let killed = 0;
  for (const home of homes)
    for (const pid of processesOf(home)) {
      try {
        process.kill(pid, "SIGKILL");
        killed++;
      } catch {}
    }
  return killed;
}
