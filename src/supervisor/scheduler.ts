import { formatDuration } from "../config/duration.ts";
import type { Server } from "../config/loader.ts";
import { totalOf } from "../memory/budget.ts";
import { MAX_PASSES, MemoryQueue, type MemoryQueueHost } from "./memory-queue.ts";
import {
  BATCH_EXTRA_REQUESTS,
  CRASH_LOOP,
  DRAIN_LIMIT_MS,
  type Entry,
  evictionFor,
  holdsMemory,
  newEntry,
  reopening,
  type ScheduledServer,
  type SchedulerEffects,
  type SchedulerOptions,
  takesNewRequest,
  uncontend,
} from "./scheduled.ts";
import { StartError } from "./start-error.ts";
import type { ServerState } from "./status.ts";

export {
  BATCH_EXTRA_REQUESTS,
  CRASH_LOOP,
  DRAIN_LIMIT_MS,
  evictionFor,
  type ScheduledServer,
  type SchedulerEffects,
  type SchedulerOptions,
  StartError,
};

/**
 * Decides what runs: one state machine per server (stopped → starting → ready → stopping, and failed),
 * group swaps, leases, ttl, and memory admission (a start waits in the memory queue until the server
 * fits, idle servers stopped to make room). Every transition runs on one chain per group (or per server
 * outside groups), so each decision sees the state the previous one left, and a swap inside a group never
 * waits on another chain; waiting for memory happens before a start joins its chain. Starting and
 * stopping are the effects' job.
 */
export class Scheduler<Launch> {
  private readonly entries = new Map<string, Entry<Launch>>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly memory: MemoryQueue;
  /** Set once the daemon is stopping: why no server may start any more. */
  private closing?: string;
  private readonly batchExtraRequests: number;

  constructor(
    private servers: Readonly<Record<string, Server>>,
    private readonly effects: SchedulerEffects<Launch>,
    private readonly onState: (name: string, state: ServerState) => void = () => {},
    options: SchedulerOptions = {},
  ) {
    this.batchExtraRequests = options.batchExtraRequests ?? BATCH_EXTRA_REQUESTS;
    this.memory = new MemoryQueue(this.memoryHost(), options.maxPasses ?? MAX_PASSES);
  }

  view(name: string): ScheduledServer<Launch> | undefined {
    return this.entries.get(name);
  }

  /**
   * Brings a server to ready because someone asked (`rig serve`, `rig run`): starting it, or restarting
   * a stale one; concurrent callers share one start. Asking lifts a crash loop's hold.
   */
  ensureReady(name: string): Promise<void> {
    const entry = this.entry(name);
    this.forgiveCrashes(entry);
    return this.bringUp(name, entry);
  }

  /**
   * Brings the server to ready and counts one request in flight, atomically: a stop (ttl, group swap,
   * reload) never lands between "ready" and "counted". Requests still waiting for a start are not in
   * flight, so a group swap never waits on them; nor does a server being retired take new ones: they
   * wait for its next start. A server in a crash loop is not started for a request.
   */
  async lease(name: string): Promise<Launch> {
    const arrived = this.effects.now();
    for (;;) {
      const entry = this.entry(name);
      if (entry.state === "ready" && !entry.stale && entry.launch !== undefined) {
        if (!takesNewRequest(entry, this.batchExtraRequests)) {
          await reopening(entry);
          continue;
        }
        entry.inFlight++;
        entry.requests++;
        entry.cancelTtl?.();
        return entry.launch;
      }
      if (entry.crashLoop) throw new StartError(entry.crashLoop);
      entry.waiting++;
      try {
        await this.bringUp(name, entry, arrived);
      } finally {
        entry.waiting--;
      }
      if (entry.reserved > 0) {
        entry.reserved--;
        // The place was granted at ready and counts in flight, so a retirement waits for it too.
        if (entry.launch !== undefined) {
          entry.requests++;
          return entry.launch;
        }
        this.release(name);
      }
    }
  }

  release(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    entry.inFlight = Math.max(0, entry.inFlight - 1);
    entry.lastActive = this.effects.now();
    if (entry.inFlight > 0) return;
    entry.onIdle?.();
    this.armTtl(name, entry);
    this.memory.changed();
  }

  /** Stops a server at once, in-flight requests or not: someone asked. It lifts a crash loop's hold. */
  stop(name: string, reason = "stopped"): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) {
      if (!this.servers[name]) return Promise.reject(new StartError(`no server named \`${name}\``));
      return Promise.resolve();
    }
    this.forgiveCrashes(entry);
    return this.enqueue(entry, () => this.stopNow(name, entry, reason));
  }

  async stopAll(reason = "stopped"): Promise<void> {
    await Promise.all([...this.entries.keys()].map((name) => this.stop(name, reason).catch(() => {})));
  }

  /**
   * The daemon is stopping: every server stops, and no start happens after this, not even one a
   * request queued before (it would outlive the daemon).
   */
  close(reason: string): Promise<void> {
    this.closing = `rig is stopping (${reason})`;
    return this.stopAll(reason);
  }

  /**
   * A ready (or retiring) server's process died on its own. The third crash within a minute holds it:
   * requests get the reason instead of a restart that would crash again, until someone asks.
   */
  crashed(name: string, message: string): void {
    const entry = this.entries.get(name);
    if (entry?.state !== "ready" && entry?.state !== "stopping") return;
    this.countFailure(name, entry, "crashed", message);
    // A retiring server is being stopped already; its stop finds nothing left to signal.
    if (entry.state !== "ready") return;
    entry.cancelTtl?.();
    entry.error = entry.crashLoop ?? message;
    entry.launch = undefined;
    this.setState(name, entry, "failed");
  }

  /**
   * Applies new profiles: changed profiles restart on their next use; removed servers are retired
   * (their requests finish first) and forgotten.
   */
  async reload(servers: Readonly<Record<string, Server>>): Promise<void> {
    this.servers = servers;
    const retiring: Promise<void>[] = [];
    for (const [name, entry] of this.entries) {
      const server = servers[name];
      if (!server) {
        const retired = this.enqueue(entry, () => this.retire(name, entry, "removed from config"));
        retiring.push(retired.catch(() => {}).then(() => void this.entries.delete(name)));
        continue;
      }
      if (server.profileHash !== entry.server.profileHash && entry.state !== "stopped") entry.stale = true;
      // A running launch keeps its own hash, so that it stays stale until it is restarted.
      entry.server =
        entry.state === "stopped" || entry.state === "failed"
          ? server
          : { ...server, profileHash: entry.server.profileHash };
    }
    await Promise.all(retiring);
  }

  /**
   * Brings a server to ready; everyone waiting for it joins the start already queued. The start waits
   * its turn for memory first, outside the group's chain, so that a wait never holds up a chain.
   */
  private bringUp(name: string, entry: Entry<Launch>, since = this.effects.now()): Promise<void> {
    if (entry.state === "ready" && !entry.stale) return Promise.resolve();
    if (this.closing) return Promise.reject(new StartError(this.closing));
    // Queued requests for one model are served together when it is ready instead of each swapping
    // the group again.
    if (entry.pendingStart) return entry.pendingStart;
    const start = this.admit(entry, since)
      .then(() =>
        this.enqueue(entry, async () => {
          if (this.closing) throw new StartError(this.closing);
          if (entry.state === "ready" && !entry.stale) return;
          if (entry.state === "ready" && entry.stale) await this.retire(name, entry, "profile changed");
          await this.startNow(name, entry);
        }),
      )
      .finally(() => {
        if (entry.pendingStart === start) entry.pendingStart = undefined;
        if (entry.admitted) {
          entry.admitted = undefined;
          this.memory.changed();
        }
      });
    entry.pendingStart = start;
    return start;
  }

  /** Waits for the memory this server needs, when its size is known and memory is limited. */
  private async admit(entry: Entry<Launch>, since: number): Promise<void> {
    const need = this.effects.footprint?.(entry.server);
    if (!need || totalOf(need) === 0 || !this.effects.capacity) return;
    await this.memory.admit(entry.server, need, since);
  }

  private memoryHost(): MemoryQueueHost {
    return {
      residents: (target) =>
        [...this.entries.values()]
          .filter(
            (entry) =>
              entry.server.name !== target.name &&
              !(target.group && entry.server.group === target.group) &&
              holdsMemory(entry),
          )
          .map((entry) => ({
            name: entry.server.name,
            need: entry.admitted ?? this.effects.footprint?.(entry.server) ?? {},
            inFlight: entry.inFlight,
            lastActive: entry.lastActive,
            idle: entry.state === "ready" && entry.inFlight === 0 && !entry.admitted && !entry.pendingStart,
          })),
      capacity: () => this.effects.capacity!(),
      admitted: (name, need) => {
        this.entry(name).admitted = need;
      },
      evict: (name, reason) => {
        const victim = this.entries.get(name);
        if (!victim) return Promise.resolve();
        victim.evicting = true;
        return this.enqueue(victim, () => this.retire(name, victim, reason));
      },
      contended: (names) => {
        for (const [name, entry] of this.entries) {
          if (names.has(name) && !entry.contended) {
            entry.contended = true;
            entry.taken = 0;
          } else if (!names.has(name) && entry.contended) uncontend(entry);
        }
      },
      after: (ms, fire) => this.effects.after(ms, fire),
    };
  }

  /**
   * One crash or failed start more: the third within a minute holds the server, so that requests (an
   * agent retrying) get the reason instead of a relaunch, a full model load each, that fails again.
   */
  private countFailure(name: string, entry: Entry<Launch>, what: string, message: string): void {
    const now = this.effects.now();
    entry.crashes = [...entry.crashes.filter((at) => now - at < CRASH_LOOP.windowMs), now];
    if (entry.crashes.length >= CRASH_LOOP.crashes) {
      entry.crashLoop = `${name} ${what} ${entry.crashes.length} times in ${formatDuration(CRASH_LOOP.windowMs)} (last: ${message}); rig does not ${what === "crashed" ? "restart" : "start"} it for requests until asked: \`rig serve ${name}\``;
    }
  }

  private forgiveCrashes(entry: Entry<Launch>): void {
    entry.crashes = [];
    entry.crashLoop = undefined;
  }

  private entry(name: string): Entry<Launch> {
    const entry = this.entries.get(name);
    if (!entry) {
      const server = this.servers[name];
      if (!server) throw new StartError(`no server named \`${name}\``);
      const created = newEntry<Launch>(server, this.effects.now());
      this.entries.set(name, created);
      return created;
    }
    return entry;
  }

  private enqueue<T>(entry: Entry<Launch>, operation: () => Promise<T>): Promise<T> {
    const key = entry.server.group ? `group\u0000${entry.server.group}` : `server\u0000${entry.server.name}`;
    const result = (this.queues.get(key) ?? Promise.resolve()).then(operation, operation);
    this.queues.set(
      key,
      result.catch(() => {}),
    );
    return result;
  }

  private setState(name: string, entry: Entry<Launch>, state: ServerState): void {
    entry.state = state;
    if (state === "stopped" || state === "failed") uncontend(entry);
    this.onState(name, state);
    this.memory.changed();
  }

  private async startNow(name: string, entry: Entry<Launch>): Promise<void> {
    const server = this.servers[name];
    if (!server) throw new StartError(`no server named \`${name}\``);
    entry.server = server;
    entry.stale = false;
    entry.error = undefined;
    for (const rival of evictionFor(server, this.entries.values()))
      await this.retire(rival, this.entries.get(rival)!, `group ${server.group}: ${name} starting`);
    this.setState(name, entry, "starting");
    entry.admitted = undefined;
    try {
      entry.launch = await this.effects.start(server);
    } catch (error) {
      const failure = error instanceof StartError ? error : new StartError((error as Error).message);
      this.countFailure(name, entry, "failed to start", failure.message);
      entry.error = failure.message;
      this.setState(name, entry, "failed");
      throw failure;
    }
    // The requests that waited for this start are counted in flight now, before the next queued
    // transition (a group swap) can see the server idle and stop it under them.
    entry.reserved += entry.waiting;
    entry.inFlight += entry.waiting;
    this.setState(name, entry, "ready");
    entry.lastActive = this.effects.now();
    this.armTtl(name, entry);
  }

  /**
   * Stops a server without cutting its requests short: from now on it takes no new ones (they wait for
   * its next start), and it is stopped once those in flight have finished, or when the drain limit
   * (its response timeout) runs out; then the clients still streaming get an error event.
   */
  private async retire(name: string, entry: Entry<Launch>, reason: string): Promise<void> {
    if (entry.state !== "ready") return this.stopNow(name, entry, reason);
    entry.cancelTtl?.();
    this.setState(name, entry, "stopping");
    const limitMs = entry.server.responseTimeoutMs || DRAIN_LIMIT_MS;
    if (await this.drained(entry, limitMs)) return this.stopNow(name, entry, reason);
    const running = `${entry.inFlight} request${entry.inFlight === 1 ? "" : "s"}`;
    await this.stopNow(name, entry, `${reason}; ${running} still running after ${formatDuration(limitMs)}`);
  }

  /** Resolves true when the server has no request in flight, false if `timeoutMs` passes first. */
  private drained(entry: Entry<Launch>, timeoutMs: number): Promise<boolean> {
    if (entry.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (drained: boolean) => {
        cancel();
        entry.onIdle = undefined;
        resolve(drained);
      };
      const cancel = this.effects.after(timeoutMs, () => finish(false));
      entry.onIdle = () => finish(true);
    });
  }

  private async stopNow(name: string, entry: Entry<Launch>, reason: string): Promise<void> {
    entry.cancelTtl?.();
    if (entry.state === "stopped") return;
    // A failed launch has nothing left running: the effects cleaned up when it failed or died.
    if (entry.state === "failed") return this.setState(name, entry, "stopped");
    if (entry.state !== "stopping") this.setState(name, entry, "stopping");
    // No request picks up a place on a launch being stopped.
    entry.launch = undefined;
    try {
      await this.effects.stop(name, reason);
    } finally {
      this.setState(name, entry, "stopped");
    }
  }

  private armTtl(name: string, entry: Entry<Launch>): void {
    entry.cancelTtl?.();
    entry.cancelTtl = undefined;
    if (!entry.server.ttlMs || entry.state !== "ready") return;
    const requestsAtArming = entry.requests;
    entry.cancelTtl = this.effects.after(entry.server.ttlMs, () => {
      // Decided again when its turn on the chain comes: a request since the timer was armed keeps it.
      const idle = () =>
        entry.state === "ready" && entry.inFlight === 0 && entry.requests === requestsAtArming;
      if (!idle()) return;
      this.enqueue(entry, async () => (idle() ? this.stopNow(name, entry, "ttl") : undefined)).catch(
        () => {},
      );
    });
  }
}
