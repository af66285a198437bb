import type { RuntimeAdapter } from "../runtimes/types.ts";
import { failureHint } from "./readiness.ts";

// What a server's exit means, in words a user can act on. A signal says more than the log of a
// process that had no chance to write: a CPU that refuses an instruction, a kernel out of memory.

/** The usual cause of a process killed by these signals, and what to do. */
const SIGNAL_HINTS: Partial<Record<string, (adapter: RuntimeAdapter) => string>> = {
  SIGILL: (adapter) =>
    `it ran a CPU instruction this machine does not have: ${
      adapter.install?.rigBuild
        ? `rebuild it with \`rig install ${adapter.kind}\` (it tests its build on this CPU)`
        : "install a build made for this CPU"
    }`,
  SIGKILL: () =>
    "killed outright, most likely by the kernel for want of memory (`dmesg` tells): use a smaller model, quantisation or context",
};

/** Why a process rig did not stop ended: its signal's usual cause, else its log's, else where to look. */
export function exitHint(
  adapter: RuntimeAdapter,
  name: string,
  exit: { code: number | null; signal: string | null },
  tail: string[],
): string | null {
  const bySignal = exit.signal ? SIGNAL_HINTS[exit.signal]?.(adapter) : undefined;
  if (bySignal) return bySignal;
  const byLog = failureHint(adapter.failureHints, tail);
  if (byLog) return byLog;
  return exit.signal || exit.code ? `its log tells why: \`rig logs ${name}\`` : null;
}
