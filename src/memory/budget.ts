import { formatSize } from "../config/duration.ts";
import type { MachineShape, MemoryEstimate, MemoryUse } from "../runtimes/types.ts";

/** Where bytes live: host RAM, discrete GPU memory, or the one memory of Apple silicon. */
export type Pool = "ram" | "gpu" | "unified";
export const POOLS: readonly Pool[] = ["ram", "gpu", "unified"];

/** Bytes per pool; a pool left out holds nothing. */
export type Bytes = Partial<Record<Pool, number>>;

/** The machine's memory as rig reads it (`auto`). */
export interface MachineMemory {
  ram?: { total: number; available?: number };
  /** Discrete GPUs (nvidia-smi, rocm-smi). */
  gpus: Array<{ total: number; used: number }>;
  /** Apple silicon: all memory, and how much of it the GPU may wire (iogpu.wired_limit_mb or macOS's default). */
  unified?: { total: number; gpuLimit: number };
}

/** rig.yaml's `memory:` as the loader resolves it. */
export interface MemorySettings {
  gpu: "auto" | number;
  ram: "auto" | number;
  reserve: number;
}

export interface PoolBudget {
  /** The most rig's servers may hold together in this pool. */
  limit: number;
  /** What the pool has in all. */
  total: number;
  /** Free on the machine right now, less the reserve (auto pools only: a set size is taken as given). */
  available?: number;
  /** How the limit was decided, in rig.yaml's terms. */
  from: string;
}

export interface Budget {
  pools: Partial<Record<Pool, PoolBudget>>;
  reserve: number;
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

function pool(
  setting: "auto" | number,
  key: string,
  total: number,
  available: number | undefined,
  reserve: number,
): PoolBudget {
  if (setting !== "auto") return { limit: setting, total, from: `memory.${key}: ${formatSize(setting)}` };
  return {
    limit: Math.max(0, total - reserve),
    total,
    available: available === undefined ? undefined : Math.max(0, available - reserve),
    from: `auto: ${formatSize(total)} less memory.reserve ${formatSize(reserve)}`,
  };
}

/** What rig's servers may use: rig.yaml's sizes where it sets them, the machine's memory less the reserve where `auto`. */
export function budgetOf(settings: MemorySettings, machine: MachineMemory): Budget {
  const pools: Budget["pools"] = {};
  const { reserve } = settings;
  if (machine.unified) {
    // One memory: the GPU's wired limit bounds what models may take, `ram:` may bound it further.
    const gpu = settings.gpu === "auto" ? machine.unified.gpuLimit : settings.gpu;
    const ram = settings.ram === "auto" ? machine.unified.total : settings.ram;
    const setting = settings.gpu === "auto" && settings.ram === "auto" ? "auto" : Math.min(gpu, ram);
    pools.unified = pool(
      setting,
      settings.gpu === "auto" ? "ram" : "gpu",
      machine.unified.gpuLimit,
      undefined,
      reserve,
    );
    return { pools, reserve };
  }
  if (machine.ram) pools.ram = pool(settings.ram, "ram", machine.ram.total, machine.ram.available, reserve);
  else if (settings.ram !== "auto") pools.ram = pool(settings.ram, "ram", settings.ram, undefined, reserve);
  if (machine.gpus.length > 0) {
    const total = sum(machine.gpus.map((gpu) => gpu.total));
    const free = sum(machine.gpus.map((gpu) => gpu.total - gpu.used));
    pools.gpu = pool(settings.gpu, "gpu", total, free, reserve);
  } else if (settings.gpu !== "auto") {
    pools.gpu = pool(settings.gpu, "gpu", settings.gpu, undefined, reserve);
  }
  return { pools, reserve };
}

/** What runtime adapters need to know of the machine to place a model. */
export function machineShape(budget: Budget): MachineShape {
  const accelerator = budget.pools.unified ?? budget.pools.gpu;
  return { acceleratorBytes: accelerator?.total ?? 0, unified: budget.pools.unified !== undefined };
}

/** Where an estimate's (or a measurement's) bytes go on this machine. */
export function poolsOf(
  split: Pick<MemoryEstimate | MemoryUse, "accelerator" | "host">,
  budget: Budget,
): Bytes {
  if (budget.pools.unified) return { unified: split.accelerator + split.host };
  const bytes: Bytes = { ram: split.host };
  if (split.accelerator > 0) {
    if (budget.pools.gpu) bytes.gpu = split.accelerator;
    else bytes.ram = split.host + split.accelerator;
  }
  return bytes;
}

export function totalOf(bytes: Bytes): number {
  return sum(POOLS.map((name) => bytes[name] ?? 0));
}

/** Bytes per pool, the larger of two (a running server: its estimate or what it was measured at). */
export function largerOf(a: Bytes, b: Bytes | undefined): Bytes {
  if (!b) return a;
  return Object.fromEntries(
    POOLS.flatMap((name) =>
      (a[name] ?? b[name]) === undefined ? [] : [[name, Math.max(a[name] ?? 0, b[name] ?? 0)]],
    ),
  );
}

/** What limits admission in each pool: the budget's limit, and what the machine has free now (auto). */
export interface Capacity {
  limit: Bytes;
  available?: Bytes;
}

export function capacityOf(budget: Budget): Capacity {
  const limit: Bytes = {};
  const available: Bytes = {};
  for (const name of POOLS) {
    const entry = budget.pools[name];
    if (!entry) continue;
    limit[name] = entry.limit;
    if (entry.available !== undefined) available[name] = entry.available;
  }
  return { limit, available };
}

/** Free memory per pool while `held` is held: the budget's limit less it, or the machine's free memory if less. */
export function freeOf(capacity: Capacity, held: Bytes, released: Bytes = {}): Bytes {
  const free: Bytes = {};
  for (const pool of POOLS) {
    const limit = capacity.limit[pool];
    if (limit === undefined) continue;
    const left = limit - (held[pool] ?? 0) + (released[pool] ?? 0);
    const available = capacity.available?.[pool];
    free[pool] = Math.min(left, available === undefined ? left : available + (released[pool] ?? 0));
  }
  return free;
}

export const POOL_NAMES: Record<Pool, string> = { ram: "RAM", gpu: "GPU memory", unified: "unified memory" };

/** "6.2 GB of RAM and 3.1 GB of GPU memory". */
export function describeBytes(bytes: Bytes): string {
  const parts = POOLS.filter((name) => (bytes[name] ?? 0) > 0).map(
    (name) => `${formatSize(bytes[name]!)} of ${POOL_NAMES[name]}`,
  );
  return parts.length ? parts.join(" and ") : "no memory";
}
