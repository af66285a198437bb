import { formatSize } from "../config/duration.ts";
import {
  type Bytes,
  type Capacity,
  describeBytes,
  freeOf,
  POOL_NAMES,
  POOLS,
  totalOf,
} from "../memory/budget.ts";

// Memory admission, as pure decisions over what runs and what is asked: the scheduler acts on them.

/** A server that holds memory now: starting, ready, being stopped, or admitted and about to start. */
export interface Resident {
  name: string;
  /** What it holds: its estimate, or what it was measured at when that is more. */
  need: Bytes;
  inFlight: number;
  lastActive: number;
  /** Ready with nothing in flight: it may be stopped to make room. */
  idle: boolean;
}

export type Admission =
  | { kind: "admit"; evict: string[] }
  /** Room frees up only when busy servers finish (or other programs let go). */
  | { kind: "wait"; busy: string[]; free: Bytes }
  /** More than the budget even with nothing else running. */
  | { kind: "never"; limit: Bytes };

export function add(a: Bytes, b: Bytes): Bytes {
  const sum: Bytes = { ...a };
  for (const pool of POOLS) if (b[pool] !== undefined) sum[pool] = (sum[pool] ?? 0) + b[pool]!;
  return sum;
}

function subtract(a: Bytes, b: Bytes): Bytes {
  const difference: Bytes = { ...a };
  for (const pool of POOLS) if (b[pool] !== undefined) difference[pool] = (difference[pool] ?? 0) - b[pool]!;
  return difference;
}

const sumOf = (list: readonly Bytes[]) => list.reduce<Bytes>(add, {});

/** Pools where `need` is more than `free` (a pool the budget does not limit never is). */
function shortIn(need: Bytes, free: Bytes): Bytes {
  const short: Bytes = {};
  for (const pool of POOLS) {
    const gap = (need[pool] ?? 0) - (free[pool] ?? Number.POSITIVE_INFINITY);
    if (gap > 0) short[pool] = gap;
  }
  return short;
}

/**
 * Whether a server needing `need` may start now: it fits in what is free (less what servers ahead of it
 * have earmarked), or it fits once idle servers are stopped, least recently used first (`mayEvict`:
 * only the head of the queue evicts). Busy servers are never stopped: then it waits.
 */
export function admissionFor(
  need: Bytes,
  residents: readonly Resident[],
  capacity: Capacity,
  options: { earmarked?: Bytes; mayEvict: boolean },
): Admission {
  const limit = capacity.limit;
  if (POOLS.some((pool) => limit[pool] !== undefined && (need[pool] ?? 0) > limit[pool]!))
    return { kind: "never", limit };
  const held = sumOf(residents.map((resident) => resident.need));
  const freeAfter = (released: Bytes) => subtract(freeOf(capacity, held, released), options.earmarked ?? {});
  const free = freeAfter({});
  if (totalOf(shortIn(need, free)) === 0) return { kind: "admit", evict: [] };
  const short = shortIn(need, free);
  const helps = (resident: Resident) =>
    POOLS.some((pool) => (short[pool] ?? 0) > 0 && (resident.need[pool] ?? 0) > 0);
  const busy = residents
    .filter((resident) => helps(resident) && !resident.idle)
    .map((resident) => resident.name);
  if (!options.mayEvict) return { kind: "wait", busy, free };
  const candidates = residents.filter((resident) => resident.idle && helps(resident));
  candidates.sort((a, b) => a.lastActive - b.lastActive);
  const evict: Resident[] = [];
  for (const candidate of candidates) {
    evict.push(candidate);
    if (totalOf(shortIn(need, freeAfter(sumOf(evict.map((resident) => resident.need))))) === 0)
      return { kind: "admit", evict: evict.map((resident) => resident.name) };
  }
  return { kind: "wait", busy, free };
}

/** A batch of requests for one server, waiting for memory. */
export interface Waiting {
  name: string;
  /** When its first request arrived. */
  since: number;
  priority: number;
  /** How many batches were let in ahead of it while it waited. */
  passes: number;
}

/**
 * The order waiting batches are let in: a batch passed over `maxPasses` times first (no one starves),
 * then higher `priority`, then the one waiting longest.
 */
export function queueOrder<T extends Waiting>(waiting: readonly T[], maxPasses: number): T[] {
  return [...waiting].sort((a, b) => {
    const starving = Number(b.passes >= maxPasses) - Number(a.passes >= maxPasses);
    return starving || b.priority - a.priority || a.since - b.since;
  });
}

function describeBusy(resident: Resident): string {
  const requests = `${resident.inFlight || "starting, no"} request${resident.inFlight === 1 ? "" : "s"}`;
  return `${resident.name} (${requests}, ${formatSize(totalOf(resident.need))})`;
}

/** Why a server cannot start, in the words a 503 carries: what it needs, what is free, what is busy. */
export function memoryRefusal(
  name: string,
  need: Bytes,
  decision: Exclude<Admission, { kind: "admit" }>,
  residents: readonly Resident[],
): string {
  if (decision.kind === "never") {
    const pools = POOLS.filter(
      (pool) => decision.limit[pool] !== undefined && (need[pool] ?? 0) > decision.limit[pool]!,
    );
    const limits = pools
      .map((pool) => `${formatSize(decision.limit[pool]!)} of ${POOL_NAMES[pool]}`)
      .join(" and ");
    return `not enough memory for ${name}: it needs ${describeBytes(need)}, more than rig's budget of ${limits} even with nothing else running; lower its context (or quantise its KV cache), or raise \`memory:\` in rig.yaml`;
  }
  const free = Object.fromEntries(
    POOLS.filter((pool) => need[pool]).map((pool) => [pool, Math.max(0, decision.free[pool] ?? 0)]),
  );
  const busy = residents.filter((resident) => decision.busy.includes(resident.name)).map(describeBusy);
  const holders = busy.length
    ? `busy: ${busy.join(", ")}`
    : "no server rig runs can make room: other programs hold the rest, or servers ahead of it in the queue";
  return `not enough memory for ${name}: it needs ${describeBytes(need)}, ${describeBytes(free)} free; ${holders}`;
}
