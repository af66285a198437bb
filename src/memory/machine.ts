import { existsSync, readdirSync, readFileSync } from "node:fs";
import { platform } from "node:os";
import type { MemoryUse } from "../runtimes/types.ts";
import { outputOf } from "../system/process.ts";
import type { MachineMemory } from "./budget.ts";

// Reading the machine: what memory it has (`memory: auto`) and what a server's processes use. The
// parsers are pure and exported for tests; the readers run the commands.

const MIB = 1024 * 1024;
const COMMAND_TIMEOUT_MS = 5000;

/** `nvidia-smi --query-gpu=memory.total,memory.used --format=csv,noheader,nounits`: MiB per device. */
export function parseNvidiaSmi(text: string): MachineMemory["gpus"] {
  return text
    .split("\n")
    .map((line) => line.split(",").map((field) => Number(field.trim())))
    .filter((fields) => fields.length >= 2 && fields.every(Number.isFinite))
    .map(([total, used]) => ({ total: total! * MIB, used: used! * MIB }));
}

/** `rocm-smi --showmeminfo vram --json`: bytes per card. */
export function parseRocmSmi(text: string): MachineMemory["gpus"] {
  let cards: Record<string, Record<string, string>>;
  try {
    cards = JSON.parse(text);
  } catch {
    return [];
  }
  return Object.values(cards).flatMap((card) => {
    const total = Number(card["VRAM Total Memory (B)"]);
    const used = Number(card["VRAM Total Used Memory (B)"]);
    return Number.isFinite(total) && total > 0 ? [{ total, used: Number.isFinite(used) ? used : 0 }] : [];
  });
}

/** /proc/meminfo: MemTotal and MemAvailable (kB). */
export function parseMeminfo(text: string): MachineMemory["ram"] {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  const total = field("MemTotal");
  return total === undefined ? undefined : { total, available: field("MemAvailable") };
}

/**
 * macOS on Apple silicon: `sysctl -n hw.memsize iogpu.wired_limit_mb`. A wired limit of 0 means macOS's
 * default: two thirds of memory up to 36 GB, three quarters above.
 */
export function parseAppleSysctl(text: string): MachineMemory["unified"] {
  const [memsize, wiredMiB] = text.trim().split(/\s+/).map(Number);
  if (!memsize) return undefined;
  const fallback = memsize > 36 * 1024 ** 3 ? memsize * 0.75 : (memsize * 2) / 3;
  return { total: memsize, gpuLimit: wiredMiB ? wiredMiB * MIB : Math.round(fallback) };
}

const run = (command: string, args: string[]) => outputOf(command, args, COMMAND_TIMEOUT_MS);

/** What `auto` means on this machine: RAM, discrete GPUs, or Apple silicon's unified memory. */
export async function readMachine(): Promise<MachineMemory> {
  if (platform() === "darwin") {
    const arm = (await run("sysctl", ["-n", "hw.optional.arm64"]))?.trim() === "1";
    const sysctl = await run("sysctl", ["-n", "hw.memsize", ...(arm ? ["iogpu.wired_limit_mb"] : [])]);
    if (arm && sysctl) return { gpus: [], unified: parseAppleSysctl(sysctl) };
    const memsize = Number(sysctl?.trim().split(/\s+/)[0]);
    return { gpus: [], ram: memsize ? { total: memsize } : undefined };
  }
  const [nvidia, rocm] = await Promise.all([
    run("nvidia-smi", ["--query-gpu=memory.total,memory.used", "--format=csv,noheader,nounits"]),
    run("rocm-smi", ["--showmeminfo", "vram", "--json"]),
  ]);
  let meminfo: string | undefined;
  try {
    meminfo = readFileSync("/proc/meminfo", "utf8");
  } catch {}
  return {
    ram: meminfo ? parseMeminfo(meminfo) : undefined,
    gpus: [...(nvidia ? parseNvidiaSmi(nvidia) : []), ...(rocm ? parseRocmSmi(rocm) : [])],
  };
}

/** pid → parent pid and resident KiB, for every process (`ps` prints the same on Linux and macOS). */
export function parseProcessTable(text: string): Map<number, { parent: number; rssKiB: number }> {
  const table = new Map<number, { parent: number; rssKiB: number }>();
  for (const line of text.split("\n")) {
    const [pid, parent, rss] = line.trim().split(/\s+/).map(Number);
    if (pid && parent !== undefined && rss !== undefined && Number.isFinite(rss))
      table.set(pid, { parent, rssKiB: rss });
  }
  return table;
}

/** The process and every descendant of it. */
export function processTree(root: number, table: Map<number, { parent: number }>): number[] {
  const tree = [root];
  for (let at = 0; at < tree.length; at++) {
    for (const [pid, entry] of table) if (entry.parent === tree[at] && !tree.includes(pid)) tree.push(pid);
  }
  return tree.filter((pid) => table.has(pid));
}

/** `nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`: MiB per pid. */
export function parseGpuProcesses(text: string): Map<number, number> {
  const used = new Map<number, number>();
  for (const line of text.split("\n")) {
    const [pid, mib] = line.split(",").map((field) => Number(field.trim()));
    if (pid && Number.isFinite(mib)) used.set(pid, (used.get(pid) ?? 0) + mib! * MIB);
  }
  return used;
}

function procTable(): Map<number, { parent: number; rssKiB: number }> | undefined {
  if (!existsSync("/proc/self/status")) return undefined;
  const table = new Map<number, { parent: number; rssKiB: number }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const parent = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
      table.set(Number(name), { parent, rssKiB: rss });
    } catch {}
  }
  return table;
}

/**
 * What a server's process tree holds: resident memory (RSS) in RAM, and per-process GPU memory where
 * nvidia-smi lists its pids. Undefined once the process is gone.
 */
export async function processTreeUse(pid: number): Promise<MemoryUse | undefined> {
  const table = procTable() ?? parseProcessTable((await run("ps", ["-A", "-o", "pid=,ppid=,rss="])) ?? "");
  if (!table.has(pid)) return undefined;
  const tree = processTree(pid, table);
  const host = tree.reduce((total, member) => total + (table.get(member)?.rssKiB ?? 0) * 1024, 0);
  const gpu = await run("nvidia-smi", [
    "--query-compute-apps=pid,used_memory",
    "--format=csv,noheader,nounits",
  ]);
  const onGpu = gpu ? parseGpuProcesses(gpu) : new Map<number, number>();
  const accelerator = tree.reduce((total, member) => total + (onGpu.get(member) ?? 0), 0);
  return { host, accelerator, source: "rss" };
}
