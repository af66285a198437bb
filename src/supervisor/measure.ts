import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { processTreeUse } from "../memory/machine.ts";
import type { LaunchPlan } from "../runtimes/plan.ts";
import type { MemoryUse } from "../runtimes/types.ts";
import { getJson } from "./health.ts";

/** The line rig writes before every process it spawns: a launch's own lines follow the last one. */
export const LAUNCH_MARKER = "--- rig: launching";
/** A runtime reports its buffers while loading: the end of the log holds them unless it has rotated. */
const LOG_WINDOW_BYTES = 4 * 1024 * 1024;
const PROBE_TIMEOUT_MS = 5000;

/** The lines a log holds since its last launch marker (from its last 4 MB). */
function launchLines(file: string): string[] {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, LOG_WINDOW_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const text = buffer.toString("utf8");
    const start = text.lastIndexOf(LAUNCH_MARKER);
    return (start === -1 ? text : text.slice(start)).split("\n");
  } finally {
    closeSync(fd);
  }
}

/** Pool by pool, the larger of two readings: what the runtime says it allocated, what the process holds. */
export function largerUse(a: MemoryUse | undefined, b: MemoryUse | undefined): MemoryUse | undefined {
  if (!a || !b) return a ?? b;
  return {
    host: Math.max(a.host, b.host),
    accelerator: Math.max(a.accelerator, b.accelerator),
    source: a.source === b.source ? a.source : `${a.source} + ${b.source}`,
  };
}

/**
 * What a ready launch uses: the runtime's own report where it has one (buffer sizes in its log, its
 * API), and its process tree's RSS (and per-process GPU memory); each pool the larger of the two, as a
 * prompt cache grows past what was allocated at load.
 */
export async function measureLaunch(
  plan: LaunchPlan,
  logFile: string | undefined,
  pid: number | undefined,
): Promise<MemoryUse | undefined> {
  const { adapter, input, baseUrl } = plan;
  const fromLog = logFile ? adapter.memoryInLog?.(launchLines(logFile)) : undefined;
  const probe = adapter.memoryProbe;
  const fromApi = probe
    ? probe.read(await getJson(baseUrl + probe.path, PROBE_TIMEOUT_MS), input.model)
    : undefined;
  const fromProcesses = pid === undefined ? undefined : await processTreeUse(pid);
  return largerUse(largerUse(fromLog, fromApi), fromProcesses);
}
