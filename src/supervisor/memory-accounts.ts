import type { Config, Server } from "../config/loader.ts";
import {
  type Budget,
  type Bytes,
  budgetOf,
  type Capacity,
  capacityOf,
  largerOf,
  type MachineMemory,
  poolsOf,
  totalOf,
} from "../memory/budget.ts";
import { estimateServer, type ServerMemory, serverMemory, spreadOver } from "../memory/estimate.ts";
import { readMachine } from "../memory/machine.ts";
import type { MemoryUse } from "../runtimes/types.ts";

/** How long one reading of the machine (nvidia-smi, /proc/meminfo) is taken as current. */
const MACHINE_READING_MS = 2000;

/**
 * What each server holds as rig counts it: its `memory:`, what its profile last measured, or its
 * estimate; once running, what it is measured using when that is more. And what the machine has.
 */
export class MemoryAccounts {
  private machine: MachineMemory = { gpus: [] };
  private readAt = Number.NEGATIVE_INFINITY;
  private reading?: Promise<void>;
  /** Per profile hash: the peak its last launch was measured at. */
  private readonly learned = new Map<string, Bytes>();
  /** Profiles whose last measurement has been looked up in the ledger (once per daemon). */
  private readonly askedLedger = new Set<string>();
  /** Per server: the peak its running launch has been measured at. */
  private readonly running = new Map<string, Bytes>();

  constructor(
    private readonly config: () => Config,
    private readonly lastMeasured: (profileHash: string) => number | undefined = () => undefined,
    private readonly read: () => Promise<MachineMemory> = readMachine,
  ) {
    // Read at once, so that the first estimates already place models on the machine's GPU.
    void this.refresh();
  }

  budget(): Budget {
    return budgetOf(this.config().memory, this.machine);
  }

  /** The limits now, from a fresh reading of the machine. */
  async capacity(): Promise<Capacity> {
    await this.refresh();
    return capacityOf(this.budget());
  }

  /** What rig counts a server as before it runs; undefined when nothing tells. */
  base(server: Server): ServerMemory | undefined {
    const budget = this.budget();
    if (!this.askedLedger.has(server.profileHash)) {
      this.askedLedger.add(server.profileHash);
      const recorded = this.fromLedger(server, budget);
      if (recorded && !this.learned.has(server.profileHash)) this.learned.set(server.profileHash, recorded);
    }
    return serverMemory(this.config(), server, budget, this.learned.get(server.profileHash));
  }

  /** What the scheduler reserves for a server: its base, or what its launch uses if that is more. */
  footprint(server: Server): Bytes | undefined {
    const base = this.base(server)?.need;
    const measured = this.running.get(server.name);
    return base ? largerOf(base, measured) : measured;
  }

  /** A measurement of a server's running launch (its peak so far): it counts now and for its next launch. */
  measured(server: Server, use: MemoryUse): void {
    const bytes = poolsOf(use, this.budget());
    if (totalOf(bytes) === 0) return;
    this.running.set(server.name, bytes);
    this.learned.set(server.profileHash, bytes);
  }

  /** A launch ended or is about to start: its measurements no longer describe what runs. */
  forget(name: string): void {
    this.running.delete(name);
  }

  private fromLedger(server: Server, budget: Budget): Bytes | undefined {
    const total = this.lastMeasured(server.profileHash);
    if (!total) return undefined;
    return spreadOver(total, estimateServer(this.config(), server, budget), budget);
  }

  private refresh(): Promise<void> {
    if (performance.now() - this.readAt < MACHINE_READING_MS) return Promise.resolve();
    this.reading ??= this.read()
      .then((machine) => {
        this.machine = machine;
      })
      .catch(() => {})
      .finally(() => {
        this.readAt = performance.now();
        this.reading = undefined;
      });
    return this.reading;
  }
}
