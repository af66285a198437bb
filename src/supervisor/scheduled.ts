import type { Server } from "../config/loader.ts";
import type { Bytes, Capacity } from "../memory/budget.ts";
import type { Scheduled } from "./status.ts";

// The scheduler's vocabulary: what it asks of the world, what it keeps per server, and the small rules
// over one server's record that its decisions share.

/** How long a retiring server's requests may run on when its profile sets no response timeout. */
export const DRAIN_LIMIT_MS = 10 * 60_000;
/** This many crashes within the window and rig stops restarting a server on demand. */
export const CRASH_LOOP = { crashes: 3, windowMs: 60_000 };
/**
 * New requests a server takes while another waits for its memory, before it takes no more until the
 * waiting batch has had its turn: a few requests per swap instead of one, and a bounded wait.
 */
export const BATCH_EXTRA_REQUESTS = 2;

/**
 * Everything the scheduler needs from the world, so that its decisions can be tested with no process
 * and no network. `start` resolves with the launch once the server is ready, or rejects with a
 * StartError after cleaning up; `stop` resolves once nothing of the launch is left running.
 */
export interface SchedulerEffects<Launch> {
  start(server: Server): Promise<Launch>;
  stop(name: string, reason: string): Promise<void>;
  now(): number;
  /** Calls `fire` after `ms` unless the returned function cancels it first. */
  after(ms: number, fire: () => void): () => void;
  /**
   * The memory a server holds once started, per pool (a running one: what it was measured at if that
   * is more); undefined when unknown, and then it is never held back.
   */
  footprint?(server: Server): Bytes | undefined;
  /** The memory servers may hold together, now. Without it nothing waits for memory. */
  capacity?(): Promise<Capacity>;
}

export interface SchedulerOptions {
  /** Requests a contended server still takes (BATCH_EXTRA_REQUESTS); 0 serves strictly in arrival order. */
  batchExtraRequests?: number;
  maxPasses?: number;
}

/** What the scheduler knows about one server. */
export interface ScheduledServer<Launch> extends Scheduled {
  server: Server;
  /** The launch of a ready server. */
  launch?: Launch;
}

/** The servers a start of `target` stops first: the other running members of its group. */
export function evictionFor(target: Server, servers: Iterable<ScheduledServer<unknown>>): string[] {
  if (!target.group) return [];
  return [...servers]
    .filter(
      ({ server, state }) =>
        server.name !== target.name &&
        server.group === target.group &&
        (state === "ready" || state === "starting"),
    )
    .map(({ server }) => server.name);
}

/** What the scheduler keeps per server. */
export interface Entry<Launch> extends ScheduledServer<Launch> {
  /** Requests waiting in lease() for this server to be ready. */
  waiting: number;
  /** In-flight places granted to the waiters when the server became ready, not yet taken up. */
  reserved: number;
  /** The queued start every new waiter joins. */
  pendingStart?: Promise<void>;
  cancelTtl?: () => void;
  /** Wakes a swap waiting for this server's requests to finish. */
  onIdle?: () => void;
  /** When it crashed lately (effects' clock), to tell a crash loop from a crash. */
  crashes: number[];
  /** Set in a crash loop: why requests no longer start it, until someone asks (serve, stop). */
  crashLoop?: string;
  /** Let in by the memory queue and not started yet: what it will hold. */
  admitted?: Bytes;
  /** Another server waits for its memory: it takes few more requests (`taken` counts them). */
  contended: boolean;
  taken: number;
  /** Chosen to make room: it takes no new request. */
  evicting: boolean;
  /** Wakes requests waiting for it to take new requests again. */
  reopen?: () => void;
  reopened?: Promise<void>;
}

export function newEntry<Launch>(server: Server, now: number): Entry<Launch> {
  return {
    server,
    state: "stopped",
    stale: false,
    inFlight: 0,
    requests: 0,
    lastActive: now,
    waiting: 0,
    reserved: 0,
    crashes: [],
    contended: false,
    taken: 0,
    evicting: false,
  };
}

/** Whether a ready server takes one more request now; a contended one counts it against its batch. */
export function takesNewRequest(entry: Entry<unknown>, batchExtraRequests: number): boolean {
  if (entry.evicting) return false;
  if (!entry.contended) return true;
  if (entry.taken >= batchExtraRequests) return false;
  entry.taken++;
  return true;
}

/** Resolves when a server that takes no new requests may take them again. */
export function reopening(entry: Entry<unknown>): Promise<void> {
  entry.reopened ??= new Promise<void>((resolve) => {
    entry.reopen = resolve;
  });
  return entry.reopened;
}

/** Nobody waits for its memory any more (or it stopped): it takes requests again. */
export function uncontend(entry: Entry<unknown>): void {
  entry.contended = false;
  entry.taken = 0;
  if (entry.state === "stopped" || entry.state === "failed") entry.evicting = false;
  const reopen = entry.reopen;
  entry.reopen = undefined;
  entry.reopened = undefined;
  reopen?.();
}

/** Starting, ready, being stopped, or let in to start: it holds (or is about to hold) its memory. */
export function holdsMemory(entry: Entry<unknown>): boolean {
  return entry.admitted !== undefined || ["starting", "ready", "stopping"].includes(entry.state);
}
