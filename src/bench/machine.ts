import { availableParallelism, cpus, platform, totalmem } from "node:os";
import { outputOf } from "../system/process.ts";

/** The machine a measurement was taken on: figures from different machines are not compared. */
export interface Machine {
  cpu: string;
  cores: number;
  /** Each GPU as its driver names it, with its memory when known; empty when none was found. */
  gpus: string[];
  memory_bytes: number;
  os: string;
}

/** The non-blank lines a command prints, or undefined when it is missing or fails (2 s at most). */
async function lines(argv: string[]): Promise<string[] | undefined> {
  const output = await outputOf(argv[0]!, argv.slice(1), 2000);
  return output
    ?.split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
}

/** GPUs from the vendors' own tools; Apple silicon's GPU shares the CPU's name and memory. */
async function gpus(cpu: string): Promise<string[]> {
  const nvidia = await lines(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"]);
  if (nvidia?.length) return nvidia;
  const amd = await lines(["rocm-smi", "--showproductname", "--csv"]);
  if (amd && amd.length > 1) return amd.slice(1);
  if (platform() === "darwin" && cpu.startsWith("Apple")) return [`${cpu} (unified memory)`];
  return [];
}

export async function machineFacts(): Promise<Machine> {
  const cpu = cpus()[0]?.model.trim() || "unknown";
  return {
    cpu,
    cores: availableParallelism(),
    gpus: await gpus(cpu),
    memory_bytes: totalmem(),
    os: `${platform()} ${process.arch}`,
  };
}
