import { existsSync } from "node:fs";
import type { Config, Server } from "../config/loader.ts";
import { modelIsPath } from "../runtimes/index.ts";
import { launchPlan } from "../runtimes/plan.ts";
import type { MemoryEstimate, ModelShape } from "../runtimes/types.ts";
import { type Budget, type Bytes, machineShape, POOLS, poolsOf, totalOf } from "./budget.ts";
import { readModelShape } from "./shape.ts";

/** How much memory a server takes as rig counts it, and why that much. */
export interface ServerMemory {
  /** Bytes per pool: what admission reserves for it. */
  need: Bytes;
  total: number;
  /** `memory:` in rig.yaml, the last measurement of this profile, or the estimate from its files. */
  source: "declared" | "measured" | "estimate";
  /** The runtime's breakdown, where it can estimate before starting. */
  estimate?: MemoryEstimate;
}

/** The model's shape, when the profile names files on this machine rig can read. */
export function modelShapeOf(server: Server, config: Config): ModelShape | undefined {
  const { adapter } = launchPlan(config, server);
  if (!modelIsPath(adapter, server.modelPath) || !existsSync(server.modelPath)) return undefined;
  try {
    return readModelShape(server.modelPath);
  } catch {
    return undefined;
  }
}

/** The runtime's own estimate of a launch of this profile, at `context` tokens when given. */
export function estimateServer(
  config: Config,
  server: Server,
  budget: Budget,
  context?: number,
): MemoryEstimate | undefined {
  const plan = launchPlan(config, server);
  return plan.adapter.estimateMemory?.(
    plan.input,
    modelShapeOf(server, config),
    machineShape(budget),
    context,
  );
}

/** Spreads a declared or measured total over the pools the estimate uses, or puts it where models go. */
export function spreadOver(total: number, estimate: MemoryEstimate | undefined, budget: Budget): Bytes {
  if (estimate) {
    const pools = poolsOf(estimate, budget);
    const share = totalOf(pools) || 1;
    return Object.fromEntries(
      POOLS.filter((name) => pools[name] !== undefined).map((name) => [
        name,
        Math.round((pools[name]! / share) * total),
      ]),
    );
  }
  if (budget.pools.unified) return { unified: total };
  return budget.pools.gpu ? { gpu: total } : { ram: total };
}

/**
 * What a server takes: its `memory:` when rig.yaml says, else what its last launch measured (the
 * `learned` bytes per pool), else the runtime's estimate. Undefined when none is known (a model only
 * its own daemon can size, a remote server): such a server is never held back for memory.
 */
export function serverMemory(
  config: Config,
  server: Server,
  budget: Budget,
  learned?: Bytes,
): ServerMemory | undefined {
  const estimate = estimateServer(config, server, budget);
  if (server.memoryBytes !== undefined) {
    return {
      need: spreadOver(server.memoryBytes, estimate, budget),
      total: server.memoryBytes,
      source: "declared",
      estimate,
    };
  }
  if (learned && totalOf(learned) > 0)
    return { need: learned, total: totalOf(learned), source: "measured", estimate };
  if (!estimate) return undefined;
  const need = poolsOf(estimate, budget);
  return { need, total: totalOf(need), source: "estimate", estimate };
}

/** Whether `need` fits in `room`, pool by pool. */
export function fitsIn(need: Bytes, room: Bytes): boolean {
  return POOLS.every(
    (name) => (need[name] ?? 0) <= (room[name] ?? (need[name] ? 0 : Number.POSITIVE_INFINITY)),
  );
}

const CONTEXT_STEP = 256;

/**
 * The largest context (in steps of 256 tokens, llama.cpp's padding) whose estimate fits in `room`, up to
 * the model's trained context; 0 when not even the smallest fits; undefined when the estimate does not
 * depend on the context.
 */
export function maxContext(
  config: Config,
  server: Server,
  budget: Budget,
  room: Bytes,
  trainedContext: number,
): number | undefined {
  const needAt = (context: number) => {
    const estimate = estimateServer(config, server, budget, context);
    return estimate && poolsOf(estimate, budget);
  };
  const smallest = needAt(CONTEXT_STEP);
  const largest = needAt(trainedContext);
  if (!smallest || !largest || totalOf(smallest) === totalOf(largest)) return undefined;
  if (fitsIn(largest, room)) return trainedContext;
  if (!fitsIn(smallest, room)) return 0;
  let low = 1;
  let high = Math.floor(trainedContext / CONTEXT_STEP);
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fitsIn(needAt(middle * CONTEXT_STEP)!, room)) low = middle;
    else high = middle - 1;
  }
  return low * CONTEXT_STEP;
}

/** The context a model was trained for, as its files say. */
export function trainedContextOf(shape: ModelShape | undefined): number | undefined {
  if (!shape) return undefined;
  if (shape.gguf) {
    const value = shape.gguf[`${String(shape.gguf["general.architecture"])}.context_length`];
    return typeof value === "number" ? value : undefined;
  }
  const config = shape.config as {
    max_position_embeddings?: number;
    text_config?: { max_position_embeddings?: number };
  };
  return config?.max_position_embeddings ?? config?.text_config?.max_position_embeddings;
}
