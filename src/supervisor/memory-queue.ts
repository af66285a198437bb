import { formatDuration } from "../config/duration.ts";
import type { Server } from "../config/loader.ts";
import type { Bytes, Capacity } from "../memory/budget.ts";
import {
  type Admission,
  add,
  admissionFor,
  memoryRefusal,
  queueOrder,
  type Resident,
  type Waiting,
} from "./admission.ts";
import { StartError } from "./start-error.ts";

/** A batch that was let in ahead of this many times goes first: no request waits behind more batches. */
export const MAX_PASSES = 3;

/** What the queue needs from the scheduler it serves. */
export interface MemoryQueueHost {
  /** Servers holding memory, leaving out `target` and the group rivals its own start stops. */
  residents(target: Server): Resident[];
  capacity(): Promise<Capacity>;
  /** From now on `name` counts as holding `need`, until it has started or failed. */
  admitted(name: string, need: Bytes): void;
  /** Stops an idle server to make room; resolves once it is stopped. */
  evict(name: string, reason: string): Promise<void>;
  /** The busy servers somebody waits for, after every decision. */
  contended(names: ReadonlySet<string>): void;
  after(ms: number, fire: () => void): () => void;
}

interface Pending extends Waiting {
  server: Server;
  need: Bytes;
  resolve(): void;
  reject(error: Error): void;
  cancelTimeout(): void;
  /** Why it still waits, and who held the memory then: what it is told if it gives up. */
  blocked?: { decision: Exclude<Admission, { kind: "admit" }>; residents: Resident[] };
}

/** Per pool, what `need` still lacks once `leaving` let go, taken from `free` (never below 0, never above it). */
function stillLacking(need: Bytes, leaving: readonly Resident[], free: Bytes): Bytes {
  const released = leaving.reduce<Bytes>((sum, resident) => add(sum, resident.need), {});
  return Object.fromEntries(
    Object.entries(need).map(([pool, bytes]) => {
      const key = pool as keyof Bytes;
      return [key, Math.max(0, Math.min(bytes - (released[key] ?? 0), free[key] ?? bytes))];
    }),
  );
}

/**
 * Servers waiting for memory, one batch per server (every request for it joins the one start). Decides
 * one pass at a time over the whole queue: the head may stop idle servers, least recently used first;
 * later batches may start only in room the head does not need.
 */
export class MemoryQueue {
  private pending: Pending[] = [];
  private deciding = false;
  private again = false;

  constructor(
    private readonly host: MemoryQueueHost,
    private readonly maxPasses = MAX_PASSES,
  ) {}

  /**
   * Resolves once `server` may start, its room made; rejects with a StartError when it needs more
   * than the budget, or when its start timeout passes while busy servers hold the memory it needs.
   */
  admit(server: Server, need: Bytes, since: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        name: server.name,
        server,
        need,
        since,
        priority: server.priority ?? 0,
        passes: 0,
        resolve,
        reject,
        cancelTimeout: () => {},
      };
      if (server.startTimeoutMs > 0)
        entry.cancelTimeout = this.host.after(server.startTimeoutMs, () => this.expire(entry));
      this.pending.push(entry);
      this.changed();
    });
  }

  /** Something that bears on memory changed (a server went idle, stopped, failed): decide again. */
  changed(): void {
    // The machine's reading never fails (an unreadable one reads as no limit); nothing to report here.
    this.decide().catch(() => {});
  }

  private async decide(): Promise<void> {
    if (this.deciding) {
      this.again = true;
      return;
    }
    this.deciding = true;
    try {
      do {
        this.again = false;
        // With nobody waiting nothing is contended, and the machine need not be read.
        if (this.pending.length === 0) this.host.contended(new Set());
        else this.pass(await this.host.capacity());
      } while (this.again);
    } finally {
      this.deciding = false;
    }
  }

  private pass(capacity: Capacity): void {
    let earmarked: Bytes = {};
    const blockers = new Set<string>();
    const passedOver: Pending[] = [];
    for (const [index, entry] of queueOrder(this.pending, this.maxPasses).entries()) {
      const residents = this.host.residents(entry.server);
      const decision = admissionFor(entry.need, residents, capacity, { earmarked, mayEvict: index === 0 });
      if (decision.kind === "admit") {
        this.settle(entry);
        for (const ahead of passedOver) ahead.passes++;
        this.host.admitted(entry.server.name, entry.need);
        const reason = `memory: ${entry.server.name} needs room`;
        Promise.all(decision.evict.map((name) => this.host.evict(name, reason).catch(() => {}))).then(
          entry.resolve,
        );
        continue;
      }
      if (decision.kind === "never") {
        this.settle(entry);
        entry.reject(new StartError(memoryRefusal(entry.server.name, entry.need, decision, residents)));
        continue;
      }
      entry.blocked = { decision, residents };
      for (const name of decision.busy) blockers.add(name);
      passedOver.push(entry);
      // Of what is free now it keeps what it will still lack once the busy servers it waits for are
      // done: a batch behind it may start only in room it will not need.
      const fromBusy = residents.filter((resident) => decision.busy.includes(resident.name));
      earmarked = add(earmarked, stillLacking(entry.need, fromBusy, decision.free));
      // Nothing overtakes a batch that has been passed over enough.
      if (entry.passes >= this.maxPasses) break;
    }
    this.host.contended(blockers);
  }

  private settle(entry: Pending): void {
    this.pending = this.pending.filter((candidate) => candidate !== entry);
    entry.cancelTimeout();
  }

  private expire(entry: Pending): void {
    if (!this.pending.includes(entry)) return;
    this.settle(entry);
    const why = entry.blocked
      ? memoryRefusal(entry.server.name, entry.need, entry.blocked.decision, entry.blocked.residents)
      : `not enough memory for ${entry.server.name}`;
    entry.reject(
      new StartError(`${why}; gave up after ${formatDuration(entry.server.startTimeoutMs)} (timeout.start)`),
    );
    this.changed();
  }
}
