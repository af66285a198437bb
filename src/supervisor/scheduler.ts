import type { Server } from "../config/loader.ts";
import type { Scheduled, ServerState } from "./status.ts";

/** A start that failed: the reason in the user's terms, and the last log lines. */
export class StartError extends Error {
  constructor(
    message: string,
    readonly logTail: string[] = [],
  ) {
    super(message);
    this.name = "StartError";
  }
}

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
}

/** What the scheduler knows about one server. */
export interface ScheduledServer<Launch> extends Scheduled {
  server: Server;
  /** The launch of a ready server. */
  launch?: Launch;
}

interface Entry<Launch> extends ScheduledServer<Launch> {
  /** Requests waiting in lease() for this server to be ready. */
  waiting: number;
  /** In-flight places granted to the waiters when the server became ready, not yet taken up. */
  reserved: number;
  /** The queued start every new waiter joins. */
  pendingStart?: Promise<void>;
  cancelTtl?: () => void;
  /** Wakes a group swap waiting for this server's requests to finish. */
  onIdle?: () => void;
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

/**
 * Decides what runs: one state machine per server (stopped → starting → ready → stopping, and failed),
 * group swaps, leases, ttl. Every transition runs on one chain per group (or per server outside
 * groups), so each decision sees the state the previous one left, and a swap inside a group never
 * waits on another chain. Starting and stopping are the effects' job.
 */
export class Scheduler<Launch> {
  private readonly entries = new Map<string, Entry<Launch>>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private servers: Readonly<Record<string, Server>>,
    private readonly effects: SchedulerEffects<Launch>,
    private readonly onState: (name: string, state: ServerState) => void = () => {},
  ) {}

  view(name: string): ScheduledServer<Launch> | undefined {
    return this.entries.get(name);
  }

  /** Brings a server to ready (starting it, or restarting a stale one); concurrent callers share one start. */
  ensureReady(name: string): Promise<void> {
    const entry = this.entry(name);
    if (entry.state === "ready" && !entry.stale) return Promise.resolve();
    // Everyone waiting for this server joins the start already queued, so queued requests for one
    // model are served together when it is ready instead of each swapping the group again.
    if (entry.pendingStart) return entry.pendingStart;
    const start = this.enqueue(entry, async () => {
      if (entry.state === "ready" && !entry.stale) return;
      if (entry.state === "ready" && entry.stale) await this.stopNow(name, entry, "profile changed");
      await this.startNow(name, entry);
    }).finally(() => {
      if (entry.pendingStart === start) entry.pendingStart = undefined;
    });
    entry.pendingStart = start;
    return start;
  }

  /**
   * Brings the server to ready and counts one request in flight, atomically: a stop (ttl, group swap,
   * reload) never lands between "ready" and "counted". Requests still waiting for a start are not in
   * flight, so a group swap never waits on them.
   */
  async lease(name: string): Promise<Launch> {
    for (;;) {
      const entry = this.entry(name);
      if (entry.state === "ready" && !entry.stale && entry.launch !== undefined) {
        entry.inFlight++;
        entry.requests++;
        entry.cancelTtl?.();
        return entry.launch;
      }
      entry.waiting++;
      try {
        await this.ensureReady(name);
      } finally {
        entry.waiting--;
      }
      if (entry.reserved > 0) {
        entry.reserved--;
        if (entry.state === "ready" && entry.launch !== undefined) {
          entry.requests++;
          return entry.launch;
        }
        entry.inFlight--;
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
  }

  stop(name: string, reason = "stopped"): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) {
      if (!this.servers[name]) return Promise.reject(new StartError(`no server named \`${name}\``));
      return Promise.resolve();
    }
    return this.enqueue(entry, () => this.stopNow(name, entry, reason));
  }

  async stopAll(reason = "stopped"): Promise<void> {
    await Promise.all([...this.entries.keys()].map((name) => this.stop(name, reason).catch(() => {})));
  }

  /** A ready server's process died on its own. */
  crashed(name: string, message: string): void {
    const entry = this.entries.get(name);
    if (entry?.state !== "ready") return;
    entry.cancelTtl?.();
    entry.error = message;
    entry.launch = undefined;
    this.setState(name, entry, "failed");
  }

  /** Applies new profiles: removed servers stop, changed profiles restart on their next use. */
  async reload(servers: Readonly<Record<string, Server>>): Promise<void> {
    this.servers = servers;
    for (const [name, entry] of this.entries) {
      const server = servers[name];
      if (!server) {
        await this.stop(name, "removed from config").catch(() => {});
        this.entries.delete(name);
        continue;
      }
      if (server.profileHash !== entry.server.profileHash && entry.state !== "stopped") entry.stale = true;
      // A running launch keeps its own hash, so that it stays stale until it is restarted.
      entry.server =
        entry.state === "stopped" || entry.state === "failed"
          ? server
          : { ...server, profileHash: entry.server.profileHash };
    }
  }

  private entry(name: string): Entry<Launch> {
    let entry = this.entries.get(name);
    if (!entry) {
      const server = this.servers[name];
      if (!server) throw new StartError(`no server named \`${name}\``);
      entry = {
        server,
        state: "stopped",
        stale: false,
        inFlight: 0,
        requests: 0,
        lastActive: this.effects.now(),
        waiting: 0,
        reserved: 0,
      };
      this.entries.set(name, entry);
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
    this.onState(name, state);
  }

  private async startNow(name: string, entry: Entry<Launch>): Promise<void> {
    const server = this.servers[name];
    if (!server) throw new StartError(`no server named \`${name}\``);
    entry.server = server;
    entry.stale = false;
    entry.error = undefined;
    for (const rival of evictionFor(server, this.entries.values())) {
      const other = this.entries.get(rival)!;
      await this.drained(other, other.server.responseTimeoutMs);
      await this.stopNow(rival, other, `group ${server.group}: ${name} starting`);
    }
    this.setState(name, entry, "starting");
    try {
      entry.launch = await this.effects.start(server);
    } catch (error) {
      const failure = error instanceof StartError ? error : new StartError((error as Error).message);
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

  /** Resolves when the server has no request in flight, or after `timeoutMs`. */
  private drained(entry: Entry<Launch>, timeoutMs: number): Promise<void> {
    if (entry.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        cancel();
        entry.onIdle = undefined;
        resolve();
      };
      const cancel = this.effects.after(timeoutMs, finish);
      entry.onIdle = finish;
    });
  }

  private async stopNow(name: string, entry: Entry<Launch>, reason: string): Promise<void> {
    entry.cancelTtl?.();
    if (entry.state === "stopped") return;
    // A failed launch has nothing left running: the effects cleaned up when it failed or died.
    if (entry.state === "failed") return this.setState(name, entry, "stopped");
    this.setState(name, entry, "stopping");
    try {
      await this.effects.stop(name, reason);
    } finally {
      entry.launch = undefined;
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
