import { EventEmitter } from "node:events";
import type { Config } from "../config/loader.ts";
import type { LaunchPlan } from "../runtimes/plan.ts";
import { type LaunchEvents, Launcher } from "./launcher.ts";
import { MemoryAccounts } from "./memory-accounts.ts";
import { reapLeftovers } from "./pidfile.ts";
import { Scheduler, type SchedulerOptions } from "./scheduler.ts";
import { type LastExit, type ServerState, type ServerStatus, serverStatus } from "./status.ts";

export { StartError } from "./scheduler.ts";

/** After answering, a server's memory is read again at most this often. */
const MEASURE_INTERVAL_MS = 10_000;

export interface SupervisorEvents {
  progress: [name: string, elapsedMs: number, lastLine: string | undefined];
  state: [name: string, state: ServerState];
}

/**
 * Owns every server process: the scheduler decides what runs (within the memory the accounts count),
 * the launcher starts, stops and measures it, and launch events go to whoever records them (the daemon
 * wires them to the ledger).
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly launcher: Launcher;
  private readonly scheduler: Scheduler<LaunchPlan>;
  private readonly memory: MemoryAccounts;
  private readonly measuredAt = new Map<string, number>();

  constructor(
    private config: Config,
    launchEvents?: LaunchEvents,
    schedulerOptions: SchedulerOptions = {},
  ) {
    super();
    this.memory = new MemoryAccounts(
      () => this.config,
      (profileHash) => launchEvents?.lastMemory?.(profileHash),
    );
    this.launcher = new Launcher({
      config: () => this.config,
      events: launchEvents,
      crashed: (name, message) => this.scheduler.crashed(name, message),
      progress: (name, elapsedMs, lastLine) => this.emit("progress", name, elapsedMs, lastLine),
    });
    this.scheduler = new Scheduler<LaunchPlan>(
      config.servers,
      {
        start: async (server) => {
          this.memory.forget(server.name);
          const plan = await this.launcher.start(server);
          void this.measure(server.name);
          return plan;
        },
        stop: async (name, reason) => {
          await this.launcher.stop(name, reason);
          this.memory.forget(name);
        },
        footprint: (server) => this.memory.footprint(server),
        capacity: () => this.memory.capacity(),
        now: Date.now,
        after(ms, fire) {
          const timer = setTimeout(fire, ms);
          timer.unref();
          return () => clearTimeout(timer);
        },
      },
      (name, state) => this.emit("state", name, state),
      schedulerOptions,
    );
  }

  /** Kills server processes a previous daemon left behind (checked by pid and start time). */
  reapLeftovers(): string[] {
    return reapLeftovers(this.config.home.state);
  }

  get currentConfig(): Config {
    return this.config;
  }

  /** The upstream base URL and model of a ready server. */
  endpoint(name: string): { baseUrl: string; model: string; plan: LaunchPlan } | undefined {
    const scheduled = this.scheduler.view(name);
    const plan = scheduled?.state === "ready" ? scheduled.launch : undefined;
    return plan && { baseUrl: plan.baseUrl, model: plan.upstreamModel, plan };
  }

  /** Brings a server to ready (starting it, or restarting a stale one); concurrent callers share one start. */
  ensureReady(name: string): Promise<void> {
    return this.scheduler.ensureReady(name);
  }

  /** Brings the server to ready and counts one request in flight; `release` when it is answered. */
  async lease(name: string): Promise<{ baseUrl: string; model: string; headers: Record<string, string> }> {
    const plan = await this.scheduler.lease(name);
    return { baseUrl: plan.baseUrl, model: plan.upstreamModel, headers: plan.upstreamHeaders };
  }

  release(name: string): void {
    this.scheduler.release(name);
    if (this.scheduler.view(name)?.inFlight !== 0) return;
    const last = this.measuredAt.get(name) ?? Number.NEGATIVE_INFINITY;
    if (performance.now() - last >= MEASURE_INTERVAL_MS) void this.measure(name);
  }

  /** Reads what a running server uses (after ready, after answering) into the accounts. */
  private async measure(name: string): Promise<void> {
    const server = this.config.servers[name];
    if (!server) return;
    this.measuredAt.set(name, performance.now());
    try {
      const use = await this.launcher.measure(name, this.memory.base(server)?.total);
      if (use) this.memory.measured(server, use);
    } catch {
      // A reading that fails leaves the estimate in place: the server is counted as before.
    }
  }

  /** How the server's process ended, when it ended after `since` (waiting a moment for an exit in progress). */
  lastExit(name: string, since: number): Promise<LastExit | undefined> {
    return this.launcher.lastExit(name, since);
  }

  stop(name: string, reason = "stopped"): Promise<void> {
    return this.scheduler.stop(name, reason);
  }

  stopAll(reason = "stopped"): Promise<void> {
    return this.scheduler.stopAll(reason);
  }

  /** Stops every server for good: the daemon is stopping, and nothing may start behind it. */
  close(reason: string): Promise<void> {
    return this.scheduler.close(reason);
  }

  status(): ServerStatus[] {
    const now = Date.now();
    return Object.values(this.config.servers).map((server) =>
      serverStatus(
        server,
        this.scheduler.view(server.name),
        this.launcher.facts(server.name),
        now,
        this.memory.base(server)?.total,
      ),
    );
  }

  /** The last log lines of a server's current or last launch. */
  tail(name: string, count = 20): string[] {
    return this.launcher.tail(name, count);
  }

  /** Applies a new config: removed servers stop, changed profiles restart on their next use. */
  async reload(config: Config): Promise<void> {
    this.config = config;
    await this.scheduler.reload(config.servers);
  }
}
