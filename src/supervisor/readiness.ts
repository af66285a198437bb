import { formatDuration } from "../config/duration.ts";
import type { FailureHint } from "../runtimes/types.ts";
import { sleep } from "../system/process.ts";
import { probe } from "./health.ts";
import { StartError } from "./scheduler.ts";

const READY_POLL_MS = 50;
const PROGRESS_EVERY_MS = 250;

export interface Readiness {
  name: string;
  healthUrl: string;
  /** The start timeout; 0 waits as long as it takes. */
  timeoutMs: number;
  /** Whether the process rig launched for it has exited (never, for a server rig did not launch). */
  exited(): boolean;
  /** The log lines that tell why it failed. */
  tail(): string[];
  hints: readonly FailureHint[];
  progress(elapsedMs: number): void;
}

/** The fix the runtime's failure hints name for these log lines, if one matches. */
export function failureHint(hints: readonly FailureHint[], tail: string[]): string | undefined {
  const text = tail.join("\n");
  return hints.find((candidate) => candidate.pattern.test(text))?.message;
}

/** The headline, with the fix the runtime's failure hints name for these log lines, if one matches. */
export function explainFailure(hints: readonly FailureHint[], tail: string[], headline: string): string {
  const hint = failureHint(hints, tail);
  return hint ? `${headline}: ${hint}` : headline;
}

/**
 * Polls the health URL on a fresh connection until it answers 200, and resolves with how long that
 * took; fails at once when the process exits, or at the start timeout (if any), with the log's
 * explanation.
 */
export async function waitReady(server: Readiness): Promise<number> {
  const started = Date.now();
  const deadline = server.timeoutMs ? started + server.timeoutMs : Number.POSITIVE_INFINITY;
  const fail = (headline: string) =>
    new StartError(explainFailure(server.hints, server.tail(), headline), server.tail());
  let lastProgress = 0;
  for (;;) {
    if (server.exited()) throw fail(`${server.name} exited while starting`);
    if ((await probe(server.healthUrl, 1000)) === 200) return Date.now() - started;
    if (Date.now() > deadline) {
      throw fail(
        `${server.name} was not ready within ${formatDuration(server.timeoutMs)} (raise servers.${server.name}.timeout.start if it needs longer)`,
      );
    }
    if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = Date.now();
      server.progress(Date.now() - started);
    }
    await sleep(READY_POLL_MS);
  }
}
