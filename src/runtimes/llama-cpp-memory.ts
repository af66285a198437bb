import { flagValue, flagValues, hasFlag } from "./args.ts";
import { estimateOf, mebibytes, splitTensors } from "./memory.ts";
import type {
  LaunchInput,
  MachineShape,
  MemoryEstimate,
  MemoryUse,
  MetadataValue,
  ModelShape,
  ModelTensor,
} from "./types.ts";

// How llama-server (llama.cpp 3.21.1's build) lays a GGUF out in memory, as its source does it and as
// its log reports it: weights by where -ngl / --n-cpu-moe / -ot put each tensor, a KV cache of
// n_ctx cells (padded to 256) shared by --parallel slots, and compute buffers modelled on what it
// reserves on the CPU backend (measured on Qwen2.5-0.5B- and Llama-3.2-1B-shaped models).

/** Bytes per value of each --cache-type-k/v (blocks of 32 for the quantised ones). */
const CACHE_TYPE_BYTES: Record<string, number> = {
  f32: 4,
  f16: 2,
  bf16: 2,
  q8_0: 34 / 32,
  q5_1: 24 / 32,
  q5_0: 22 / 32,
  q4_1: 20 / 32,
  q4_0: 18 / 32,
  iq4_nl: 18 / 32,
};

/** Sliding-window layer periods llama.cpp assumes per architecture when the file does not say. */
const SWA_PERIOD: Record<string, number> = { gemma2: 2, gemma3: 6, "gpt-oss": 2, cohere2: 4, llama4: 4 };

const CELL_PADDING = 256;
const AUTO_SLOTS = 4;
const DEFAULT_UBATCH = 512;
const DEFAULT_BATCH = 2048;
const EXPERT_TENSOR = /\.ffn_(up|down|gate|gate_up)_(ch)?exps/;

interface Hyperparameters {
  layers: number;
  embedding: number;
  heads: number;
  /** Per layer; 0 for a layer without attention (recurrent layers of hybrid models). */
  kvHeads: number[];
  keyWidth: number;
  valueWidth: number;
  /** The widest feed-forward a token goes through (for MoE: the experts it is routed to). */
  feedForward: number;
  vocab: number;
  trainedContext: number;
  slidingWindow: number;
  slidingLayers: boolean[];
  /** Multi-head latent attention (DeepSeek 2/3): K holds the latent and rope dims, there is no V. */
  latent: boolean;
}

/** What the flags ask for, with llama-server's defaults. */
interface Settings {
  /** Tokens asked for (0: the model's trained context). */
  context?: number;
  slots: number;
  unified: boolean;
  ubatch: number;
  keyType: string;
  valueType: string;
  flashAttention: boolean;
  /** Layers offloaded, counting the output layer as the last (n_layer + 1 = all). */
  gpuLayers: number;
  kvOffload: boolean;
  expertsOnCpu: (layer: number) => boolean;
  overrides: Array<{ pattern: RegExp; host: boolean }>;
  swaFull: boolean;
  promptCacheMiB: number;
}

const round = (value: number, multiple: number) => Math.ceil(value / multiple) * multiple;

function numberOf(value: MetadataValue | undefined): number | undefined {
  if (typeof value === "number") return value;
  if (Array.isArray(value)) return Math.max(...value.map(Number));
  return undefined;
}

function perLayer(value: MetadataValue | undefined, layers: number, fallback: number): number[] {
  if (Array.isArray(value)) return Array.from({ length: layers }, (_, il) => Number(value[il] ?? fallback));
  return new Array<number>(layers).fill(typeof value === "number" ? value : fallback);
}

function slidingLayers(arch: string, pattern: MetadataValue | undefined, layers: number): boolean[] {
  if (Array.isArray(pattern)) return Array.from({ length: layers }, (_, il) => Boolean(pattern[il]));
  const period = typeof pattern === "number" ? pattern : (SWA_PERIOD[arch] ?? 0);
  // llama_hparams::set_swa_pattern: every period-th layer is dense, the others slide (0: all slide).
  return Array.from({ length: layers }, (_, il) => period === 0 || il % period < period - 1);
}

function hyperparameters(model: ModelShape): Hyperparameters | undefined {
  const meta = model.gguf ?? {};
  const arch = String(meta["general.architecture"] ?? "");
  const key = (name: string) => meta[`${arch}.${name}`];
  const layers = numberOf(key("block_count"));
  const embedding = numberOf(key("embedding_length"));
  const heads = numberOf(key("attention.head_count"));
  if (!layers || !embedding || !heads) return undefined;
  const headWidth = embedding / heads;
  const latentRank = numberOf(key("attention.kv_lora_rank"));
  const experts = numberOf(key("expert_count")) ?? 0;
  const denseFeedForward = numberOf(key("feed_forward_length")) ?? 4 * embedding;
  const expertFeedForward = numberOf(key("expert_feed_forward_length")) ?? denseFeedForward;
  const used = numberOf(key("expert_used_count")) ?? 0;
  const embeddings = model.tensors.find((tensor) => tensor.name === "token_embd.weight");
  const slidingWindow = numberOf(key("attention.sliding_window")) ?? 0;
  return {
    layers,
    embedding,
    heads,
    kvHeads: perLayer(key("attention.head_count_kv"), layers, heads),
    keyWidth: latentRank
      ? latentRank + (numberOf(key("rope.dimension_count")) ?? 64)
      : (numberOf(key("attention.key_length")) ?? headWidth),
    valueWidth: latentRank ? 0 : (numberOf(key("attention.value_length")) ?? headWidth),
    feedForward: experts > 0 ? Math.max(denseFeedForward, used * expertFeedForward) : denseFeedForward,
    vocab: numberOf(key("vocab_size")) ?? embeddings?.dims?.[1] ?? 32000,
    trainedContext: numberOf(key("context_length")) ?? 4096,
    slidingWindow,
    slidingLayers: slidingWindow
      ? slidingLayers(arch, key("attention.sliding_window_pattern"), layers)
      : new Array<boolean>(layers).fill(false),
    latent: latentRank !== undefined,
  };
}

function gpuLayersOf(value: string | undefined, layers: number): number {
  if (value === undefined || value === "auto" || value === "all") return layers + 1;
  const count = Number(value);
  if (!Number.isFinite(count) || count < 0) return layers + 1;
  return Math.min(count, layers + 1);
}

/** -ot "pattern=buffer,pattern=buffer": a buffer named CPU (or a host buffer) keeps the tensor in RAM. */
function tensorOverrides(args: readonly string[]): Settings["overrides"] {
  return flagValues(args, "-ot", "--override-tensor").flatMap((value) =>
    value.split(",").flatMap((rule) => {
      const at = rule.lastIndexOf("=");
      if (at <= 0) return [];
      try {
        return [{ pattern: new RegExp(rule.slice(0, at)), host: /^cpu|_host$/i.test(rule.slice(at + 1)) }];
      } catch {
        return [];
      }
    }),
  );
}

function settingsOf(args: readonly string[], layers: number): Settings {
  const number = (...flags: string[]) => {
    const value = flagValue(args, ...flags);
    return value === undefined || !Number.isFinite(Number(value)) ? undefined : Number(value);
  };
  const parallel = number("-np", "--parallel");
  const auto = parallel === undefined || parallel < 0;
  const cpuMoeLayers = number("-ncmoe", "--n-cpu-moe") ?? 0;
  const allExpertsOnCpu = hasFlag(args, "-cmoe", "--cpu-moe");
  return {
    context: number("-c", "--ctx-size"),
    slots: auto ? AUTO_SLOTS : Math.max(1, parallel),
    unified: auto || hasFlag(args, "-kvu", "--kv-unified"),
    ubatch: Math.min(
      number("-ub", "--ubatch-size") ?? DEFAULT_UBATCH,
      number("-b", "--batch-size") ?? DEFAULT_BATCH,
    ),
    keyType: (flagValue(args, "-ctk", "--cache-type-k") ?? "f16").toLowerCase(),
    valueType: (flagValue(args, "-ctv", "--cache-type-v") ?? "f16").toLowerCase(),
    flashAttention: flagValue(args, "-fa", "--flash-attn") !== "off",
    gpuLayers: gpuLayersOf(flagValue(args, "-ngl", "--gpu-layers", "--n-gpu-layers"), layers),
    kvOffload: !hasFlag(args, "-nkvo", "--no-kv-offload"),
    expertsOnCpu: (layer) => allExpertsOnCpu || layer < cpuMoeLayers,
    overrides: tensorOverrides(args),
    swaFull: hasFlag(args, "--swa-full"),
    promptCacheMiB: number("-cram", "--cache-ram") ?? 8192,
  };
}

/** The layer a tensor belongs to: blk.N, the input embedding (-1, always on the CPU), or the output (n_layer). */
function layerOf(tensor: ModelTensor, layers: number): number {
  const block = /^blk\.(\d+)\./.exec(tensor.name);
  if (block) return Number(block[1]);
  return tensor.name.startsWith("token_embd") ? -1 : layers;
}

/** The KV cells per layer: every layer holds the context; sliding-window layers only their window. */
function kvCells(hp: Hyperparameters, settings: Settings, contextPerStream: number): number[] {
  const streams = settings.unified ? 1 : settings.slots;
  const windowCells = round(
    Math.min(contextPerStream, hp.slidingWindow * (settings.unified ? settings.slots : 1) + settings.ubatch),
    CELL_PADDING,
  );
  return hp.slidingLayers.map(
    (sliding) => (sliding && !settings.swaFull ? windowCells : contextPerStream) * streams,
  );
}

/** Compute buffers as llama-server reserves them for one micro-batch (CPU backend, measured). */
function computeBytes(hp: Hyperparameters, settings: Settings, contextPerStream: number, windowed: boolean) {
  const { ubatch } = settings;
  const feedForward = 4 * ubatch * (3 * hp.feedForward + 4 * hp.embedding);
  const maskCells = contextPerStream + (windowed ? Math.min(contextPerStream, hp.slidingWindow + ubatch) : 0);
  if (settings.flashAttention) return feedForward + 2 * ubatch * maskCells;
  const scores = 4 * ubatch * contextPerStream * (hp.heads + 1) + 6 * 4 * ubatch * hp.embedding;
  return Math.max(feedForward, scores);
}

function describeSlots(settings: Settings, context: number, perSlot: number): string {
  return settings.unified
    ? `${settings.slots} slots share a ${context}-token KV cache (each up to ${perSlot})`
    : `${settings.slots} slot${settings.slots === 1 ? "" : "s"} of ${perSlot} tokens${settings.slots === 1 ? "" : ` each (--parallel splits --ctx-size ${context})`}`;
}

export function estimateLlamaServer(
  input: LaunchInput,
  model: ModelShape | undefined,
  machine: MachineShape,
  context?: number,
): MemoryEstimate | undefined {
  if (model?.format !== "gguf") return undefined;
  const hp = hyperparameters(model);
  const weights = model.tensors.reduce((sum, tensor) => sum + tensor.bytes, 0);
  if (!hp)
    return estimateOf({ weights, kv: 0, compute: 0 }, 0, {
      notes: ["KV cache not counted: the GGUF header names no attention shape"],
    });
  const settings = settingsOf(input.args, hp.layers);
  const asked = context ?? settings.context ?? input.context ?? 0;
  const total = round(asked > 0 ? asked : hp.trainedContext, CELL_PADDING);
  const perStream = settings.unified ? total : round(Math.floor(total / settings.slots), CELL_PADDING);
  const served = settings.unified ? total : perStream * settings.slots;
  const perSlot = Math.min(perStream, hp.trainedContext);

  const accelerated = machine.acceleratorBytes > 0;
  const firstOffloaded = hp.layers + 1 - settings.gpuLayers;
  const layerOnAccelerator = (layer: number) => accelerated && layer >= 0 && layer >= firstOffloaded;
  const tensorOnAccelerator = (tensor: ModelTensor) => {
    if (!accelerated) return false;
    const override = settings.overrides.find(({ pattern }) => pattern.test(tensor.name));
    if (override) return !override.host;
    const layer = layerOf(tensor, hp.layers);
    if (EXPERT_TENSOR.test(tensor.name) && settings.expertsOnCpu(layer)) return false;
    return layerOnAccelerator(layer);
  };
  const placed = splitTensors(model.tensors, tensorOnAccelerator);
  // Tied embeddings: llama.cpp loads token_embd a second time for an output layer on the GPU.
  const tied = !model.tensors.some((tensor) => tensor.name === "output.weight");
  const duplicated =
    tied && layerOnAccelerator(hp.layers)
      ? (model.tensors.find((tensor) => tensor.name === "token_embd.weight")?.bytes ?? 0)
      : 0;

  const cells = kvCells(hp, settings, perStream);
  const keyBytes = CACHE_TYPE_BYTES[settings.keyType] ?? 2;
  const valueBytes = CACHE_TYPE_BYTES[settings.valueType] ?? 2;
  let kv = 0;
  let kvOnAccelerator = 0;
  cells.forEach((count, layer) => {
    const heads = hp.kvHeads[layer] ?? 0;
    if (heads === 0) return;
    const width = hp.latent ? hp.keyWidth : heads * hp.keyWidth;
    const bytes = count * (width * keyBytes + (hp.latent ? 0 : heads * hp.valueWidth * valueBytes));
    kv += bytes;
    if (settings.kvOffload && layerOnAccelerator(layer)) kvOnAccelerator += bytes;
  });

  const windowed = hp.slidingLayers.some(Boolean) && !settings.swaFull;
  const graph = computeBytes(hp, settings, perStream, windowed);
  const logits = 4 * hp.vocab * settings.slots;
  const graphOnAccelerator = accelerated && settings.gpuLayers > 0;

  const notes = [describeSlots(settings, served, perSlot)];
  if (!settings.flashAttention)
    notes.push("flash attention off: attention scores need far more compute memory");
  if (settings.promptCacheMiB !== 0)
    notes.push(
      `llama-server keeps idle slots' prompts in RAM, up to --cache-ram ${settings.promptCacheMiB < 0 ? "(no limit)" : `${settings.promptCacheMiB} MiB`}: not in this estimate; rig counts it once measured`,
    );
  if (hasFlag(input.args, "-md", "--model-draft", "--spec-draft-model", "-mm", "--mmproj"))
    notes.push("a draft model or multimodal projector is not counted");
  return estimateOf(
    { weights: weights + duplicated, kv, compute: graph + logits },
    placed.accelerator + duplicated + kvOnAccelerator + (graphOnAccelerator ? graph : 0),
    { context: served, slots: settings.slots, slotContext: perSlot, notes },
  );
}

const BUFFER_LINE = /(\S+)\s+(model|KV|RS|compute|output) buffer size\s*=\s*([\d.]+)\s*MiB/;

/**
 * What llama-server says it allocated: its `model`, `KV`, `compute` and `output buffer size` lines
 * (printed at verbosity 4 and above: `-lv 4`). Host buffers (CPU, CPU_Mapped, CUDA_Host) are RAM.
 */
export function llamaServerMemory(lines: readonly string[]): MemoryUse | undefined {
  let host = 0;
  let accelerator = 0;
  let seen = false;
  for (const line of lines) {
    const match = BUFFER_LINE.exec(line);
    if (!match) continue;
    seen = true;
    const bytes = mebibytes(Number(match[3]));
    if (/^cpu|_host$/i.test(match[1]!)) host += bytes;
    else accelerator += bytes;
  }
  return seen ? { host, accelerator, source: "llama-server log" } : undefined;
}
