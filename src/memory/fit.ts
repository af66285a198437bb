import type { Config, Server } from "../config/loader.ts";
import { runtimeFor } from "../runtimes/index.ts";
import {
  type Budget,
  type Bytes,
  capacityOf,
  freeOf,
  POOLS,
  type Pool,
  type PoolBudget,
  poolsOf,
  totalOf,
} from "./budget.ts";
import {
  estimateServer,
  fitsIn,
  maxContext,
  modelShapeOf,
  serverMemory,
  trainedContextOf,
} from "./estimate.ts";

/** What `rig fit` reports (and `rig explain` shows): DESIGN's `{estimate, budget, fits, max_context}` and more. */
export interface FitReport {
  server: string;
  runtime: string;
  /** What rig counts the server as: its `memory:`, its last measurement, or the estimate. */
  source: "declared" | "measured" | "estimate" | null;
  estimate: { weights: number; kv: number; compute: number; total: number } | null;
  /** The bytes rig reserves for it, and in which memory. */
  total: number | null;
  where: Bytes;
  context: number | null;
  slots: number | null;
  slot_context: number | null;
  budget: Partial<Record<Pool, PoolBudget>>;
  /** Free now: the budget less what running servers hold, or the machine's free memory if less. */
  free: Bytes;
  /** It fits the budget (rig stops idle servers to make room for it). */
  fits: boolean | null;
  /** It fits beside what runs now, with nothing stopped. */
  fits_now: boolean | null;
  /** The largest context (tokens) whose estimate fits the budget, up to the trained context: rig counts no further. */
  max_context: number | null;
  /** The context the model was trained for, as its files say. */
  trained_context: number | null;
  notes: string[];
  /** What runs but is likely wrong: a context past the trained one. */
  warnings: string[];
}

/**
 * A context longer per request than the model was trained for: llama-server caps each slot there (the
 * cache past it is reserved for nothing), vLLM refuses to start, and a model not set up for it degrades.
 */
function pastTrained(context: number | undefined, slots: number | undefined, trained: number | undefined) {
  const perRequest = context && Math.floor(context / (slots ?? 1));
  if (!trained || !perRequest || perRequest <= trained) return [];
  const split = slots && slots > 1 ? ` (${perRequest} per slot)` : "";
  return [
    `context ${context} tokens${split} is past the ${trained} the model was trained for: runtimes cap or refuse it, and answers degrade beyond ${trained}`,
  ];
}

/**
 * How a server fits this machine: its estimate at its own context (or `context`), where it goes, the
 * budget, what `held` by running servers leaves free, and the largest context that fits.
 */
export function fitReport(
  config: Config,
  server: Server,
  budget: Budget,
  held: Bytes,
  options: { context?: number; learned?: Bytes } = {},
): FitReport {
  const counted =
    options.context === undefined ? serverMemory(config, server, budget, options.learned) : undefined;
  const estimate = counted?.estimate ?? estimateServer(config, server, budget, options.context);
  const need = counted?.need ?? (estimate && poolsOf(estimate, budget));
  const capacity = capacityOf(budget);
  const free = freeOf(capacity, held);
  const trainedByFiles = trainedContextOf(modelShapeOf(server, config));
  const trained = trainedByFiles ?? estimate?.context;
  const notes = [...(estimate?.notes ?? [])];
  const warnings = pastTrained(options.context ?? estimate?.context, estimate?.slots, trainedByFiles);
  if (!need)
    notes.push(
      runtimeFor(server.runtime).requires === "url"
        ? "served from elsewhere: it takes no memory here"
        : `rig cannot size a ${server.runtime} server before it has loaded the model: set \`memory:\` on it to reserve room`,
    );
  if (counted?.source === "declared") notes.push("`memory:` in rig.yaml overrides the estimate");
  if (counted?.source === "measured") notes.push("counted as its last launch was measured");
  return {
    server: server.name,
    runtime: server.runtime,
    source: counted?.source ?? (estimate ? "estimate" : null),
    estimate: estimate
      ? {
          weights: estimate.weights,
          kv: estimate.kv,
          compute: estimate.compute,
          total: estimate.weights + estimate.kv + estimate.compute,
        }
      : null,
    total: need ? totalOf(need) : null,
    where: need ?? {},
    context: estimate?.context ?? null,
    slots: estimate?.slots ?? null,
    slot_context: estimate?.slotContext ?? null,
    budget: budget.pools,
    free: Object.fromEntries(
      POOLS.filter((pool) => free[pool] !== undefined).map((pool) => [pool, Math.max(0, free[pool]!)]),
    ),
    fits: need ? fitsIn(need, capacity.limit) : null,
    fits_now: need ? fitsIn(need, free) : null,
    // A declared size is what rig counts whatever the context: only an estimate has a largest context.
    max_context:
      trained && counted?.source !== "declared"
        ? (maxContext(config, server, budget, capacity.limit, trained) ?? null)
        : null,
    trained_context: trainedByFiles ?? null,
    notes,
    warnings,
  };
}
