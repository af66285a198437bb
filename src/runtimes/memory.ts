import { flagValue } from "./args.ts";
import type { LaunchInput, MachineShape, MemoryEstimate, ModelShape, ModelTensor } from "./types.ts";

// Arithmetic the runtime adapters share for their memory estimates.

const MIB = 1024 * 1024;
export const mebibytes = (value: number): number => Math.round(value * MIB);

/** A weight estimate split by where each tensor goes. */
export function splitTensors(
  tensors: readonly ModelTensor[],
  onAccelerator: (tensor: ModelTensor) => boolean,
): { accelerator: number; host: number } {
  let accelerator = 0;
  let host = 0;
  for (const tensor of tensors) {
    if (onAccelerator(tensor)) accelerator += tensor.bytes;
    else host += tensor.bytes;
  }
  return { accelerator, host };
}

/** Adds weights, KV and compute up, and fills in what goes where. */
export function estimateOf(
  parts: { weights: number; kv: number; compute: number },
  accelerator: number,
  fields: Omit<MemoryEstimate, "weights" | "kv" | "compute" | "accelerator" | "host">,
): MemoryEstimate {
  const total = parts.weights + parts.kv + parts.compute;
  const onAccelerator = Math.min(total, Math.max(0, Math.round(accelerator)));
  return {
    weights: Math.round(parts.weights),
    kv: Math.round(parts.kv),
    compute: Math.round(parts.compute),
    accelerator: onAccelerator,
    host: Math.round(total) - onAccelerator,
    ...fields,
  };
}

/** A Hugging Face config.json's attention shape: what sizes a KV cache. */
interface AttentionShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  intermediate: number;
  maxContext?: number;
  slidingWindow?: number;
}

const numberField = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;

/** Reads the attention shape from config.json (or its text_config, as multimodal models nest it). */
function attentionShape(config: Readonly<Record<string, unknown>> | undefined): AttentionShape | undefined {
  if (!config) return undefined;
  const text = (config.text_config ?? config) as Record<string, unknown>;
  const field = (key: string) => numberField(text[key]) ?? numberField(config[key]);
  const layers = field("num_hidden_layers");
  const heads = field("num_attention_heads");
  const hidden = field("hidden_size");
  if (!layers || !heads || !hidden) return undefined;
  return {
    layers,
    kvHeads: field("num_key_value_heads") ?? heads,
    headDim: field("head_dim") ?? hidden / heads,
    hidden,
    intermediate: field("intermediate_size") ?? hidden * 4,
    maxContext: field("max_position_embeddings"),
    slidingWindow: field("sliding_window"),
  };
}

/** K and V for `tokens` tokens over every layer, at `bytesPerValue` (2 for f16/bf16). */
function denseKvBytes(shape: AttentionShape, tokens: number, bytesPerValue: number): number {
  return 2 * shape.layers * shape.kvHeads * shape.headDim * tokens * bytesPerValue;
}

/** Prompt tokens MLX processes per step unless told otherwise (mlx_lm's prefill step). */
const PREFILL_STEP = 2048;

/**
 * A safetensors or MLX folder served by a runtime that allocates its KV cache as the context fills
 * (MLX): weights from the headers, K and V at 16 bits for `context` tokens, and one prefill step's
 * activations. Everything sits in the accelerator's memory.
 */
export function estimateFromConfig(
  model: ModelShape | undefined,
  context: number | undefined,
  notes: string[],
): MemoryEstimate | undefined {
  const shape = attentionShape(model?.config);
  if (!model || !shape) return undefined;
  const weights = model.tensors.reduce((sum, tensor) => sum + tensor.bytes, 0);
  const tokens = context ?? shape.maxContext ?? 4096;
  const kv = denseKvBytes(shape, tokens, 2);
  const compute = 2 * PREFILL_STEP * (3 * shape.intermediate + 4 * shape.hidden);
  return estimateOf({ weights, kv, compute }, weights + kv + compute, {
    context: tokens,
    notes: [`the KV cache grows as the context fills: ${tokens} tokens at 16 bits`, ...notes],
  });
}

/**
 * The estimate of a runtime that reserves a fraction of each GPU it uses up front (vLLM's
 * --gpu-memory-utilization, SGLang's --mem-fraction-static), read from `flag` with `fallback` as its
 * default: weights, then KV blocks in whatever the fraction leaves.
 */
export function reservedFraction(flag: string, fallback: number) {
  return (input: LaunchInput, model: ModelShape | undefined, machine: MachineShape): MemoryEstimate =>
    estimateReservation(model, machine, Number(flagValue(input.args, flag) ?? fallback), flag);
}

function estimateReservation(
  model: ModelShape | undefined,
  machine: MachineShape,
  fraction: number,
  flag: string,
): MemoryEstimate {
  const weights = model?.tensors.reduce((sum, tensor) => sum + tensor.bytes, 0) ?? 0;
  const reserved = Math.round(fraction * machine.acceleratorBytes);
  const kv = Math.max(0, reserved - weights);
  return estimateOf({ weights, kv, compute: 0 }, reserved, {
    notes: [
      machine.acceleratorBytes
        ? `${flag} ${fraction} reserves that share of the GPU's memory; the KV cache takes what the weights leave`
        : `no GPU found: ${flag} ${fraction} of nothing; a CPU build sizes its KV cache by its own settings`,
    ],
  });
}
