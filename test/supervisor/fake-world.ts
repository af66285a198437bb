import type { Server } from "../../src/config/loader.ts";
import type { Bytes, Capacity } from "../../src/memory/budget.ts";
import { Scheduler, type SchedulerEffects, type SchedulerOptions } from "../../src/supervisor/scheduler.ts";

// Fake effects for the scheduler: no process, no network, a clock the test moves, memory as data.

interface Held {
  resolve(launch: string): void;
  reject(error: Error): void;
}

/** Records every start and stop; a held start waits until the test finishes or fails it. */
export class FakeWorld implements SchedulerEffects<string> {
  readonly log: string[] = [];
  readonly started: Server[] = [];
  private clock = 0;
  private timers: Array<{ at: number; fire: () => void; cancelled: boolean }> = [];
  private readonly holding = new Set<string>();
  private readonly held = new Map<string, Held>();

  /** RAM each server holds once started (a server left out has no known size), and rig's budget. */
  readonly sizes = new Map<string, number>();
  budget?: number;
  /** What the started servers held together at each start, the new one included. */
  readonly heldAtStarts: number[] = [];
  private readonly running = new Set<string>();

  footprint(server: Server): Bytes | undefined {
    const size = this.sizes.get(server.name);
    return size === undefined ? undefined : { ram: size };
  }

  async capacity(): Promise<Capacity> {
    return { limit: this.budget === undefined ? {} : { ram: this.budget } };
  }

  start(server: Server): Promise<string> {
    this.log.push(`start ${server.name}`);
    this.started.push(server);
    this.running.add(server.name);
    this.heldAtStarts.push([...this.running].reduce((sum, name) => sum + (this.sizes.get(name) ?? 0), 0));
    const launch = `${server.name}#${this.started.length}`;
    if (!this.holding.has(server.name)) return Promise.resolve(launch);
    return new Promise((resolve, reject) =>
      this.held.set(server.name, { resolve: () => resolve(launch), reject }),
    );
  }

  async stop(name: string, reason: string): Promise<void> {
    this.log.push(`stop ${name}: ${reason}`);
    this.running.delete(name);
  }

  now(): number {
    return this.clock;
  }

  after(ms: number, fire: () => void): () => void {
    const timer = { at: this.clock + ms, fire, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Moves the clock, firing the timers that fall due on the way. */
  advance(ms: number): void {
    const until = this.clock + ms;
    for (;;) {
      const due = this.timers
        .filter((timer) => !timer.cancelled && timer.at <= until)
        .sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.clock = due.at;
      due.cancelled = true;
      due.fire();
    }
    this.clock = until;
  }

  /** Starts of this server wait for finish() or fail(). */
  hold(name: string): void {
    this.holding.add(name);
  }

  finish(name: string): void {
    this.held.get(name)!.resolve("");
  }

  fail(name: string, error: Error): void {
    this.held.get(name)!.reject(error);
  }
}

export function server(name: string, fields: Partial<Server> = {}): Server {
  const known: Partial<Server> = {
    name,
    runtime: "llama.cpp",
    ttlMs: 0,
    responseTimeoutMs: 60_000,
    startTimeoutMs: 60_000,
    profileHash: `${name}-1`,
    ...fields,
  };
  return known as Server;
}

export function setup(...servers: Server[]) {
  return setupWith({}, ...servers);
}

/** A scheduler over fake effects whose servers take `sizes` of RAM within a `budget`. */
export function setupWith(
  memory: { budget?: number; sizes?: Record<string, number>; options?: SchedulerOptions },
  ...servers: Server[]
) {
  const world = new FakeWorld();
  world.budget = memory.budget;
  for (const [name, size] of Object.entries(memory.sizes ?? {})) world.sizes.set(name, size);
  const states: string[] = [];
  const scheduler = new Scheduler<string>(
    Object.fromEntries(servers.map((entry) => [entry.name, entry])),
    world,
    (name, state) => states.push(`${name} ${state}`),
    memory.options,
  );
  return { world, scheduler, states };
}

/** Lets every queued transition run: the fakes never wait on a timer. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
