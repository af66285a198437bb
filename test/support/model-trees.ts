import { createHash, randomFillSync } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { cacheRoot, ensureLlamaSource } from "../../src/install/llama-cpp.ts";
import {
  GgmlType,
  GgufType,
  type GgufValue,
  readGguf,
  type TensorData,
  writeGguf,
} from "../../src/inventory/gguf.ts";

export interface GgufSpec {
  arch?: string;
  name?: string;
  /** llama_ftype: 15 = Q4_K_M, 7 = Q8_0. */
  fileType?: number;
  context?: number;
  layers?: number;
  embedding?: number;
  vocab?: number;
  /** Give each tensor real bytes (a copyable file) instead of a hole (a sparse file that looks huge). */
  dense?: boolean;
  /** Hole size per tensor for sparse files. */
  tensorBytes?: number;
  split?: { no: number; count: number };
}

/** Tensor infos of a llama-shaped model; `params` is what the header describes. */
export function llamaTensors(spec: GgufSpec): { tensors: TensorData[]; params: number } {
  const embedding = spec.embedding ?? 64;
  const vocab = spec.vocab ?? 256;
  const shapes: [string, number[]][] = [["token_embd.weight", [embedding, vocab]]];
  for (let layer = 0; layer < (spec.layers ?? 2); layer++) {
    shapes.push([`blk.${layer}.attn_norm.weight`, [embedding]]);
    shapes.push([`blk.${layer}.attn_q.weight`, [embedding, embedding]]);
    shapes.push([`blk.${layer}.ffn_up.weight`, [embedding, embedding * 2]]);
  }
  shapes.push(["output_norm.weight", [embedding]]);
  let params = 0;
  const tensors = shapes.map(([name, dims]) => {
    const count = dims.reduce((product, dim) => product * dim, 1);
    params += count;
    const data = spec.dense
      ? Buffer.from(Float32Array.from({ length: count }, (_, i) => Math.sin(i + count)).buffer)
      : (spec.tensorBytes ?? 1 << 20);
    return { name, dims, type: GgmlType.F32, data };
  });
  return { tensors, params };
}

/** A GGUF file whose header says what the spec says; returns the parameter count it describes. */
export function writeModelGguf(path: string, spec: GgufSpec = {}): number {
  mkdirSync(dirname(path), { recursive: true });
  const arch = spec.arch ?? "llama";
  const vocab = spec.vocab ?? 256;
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", { type: GgufType.STRING, value: arch }],
    ["general.name", { type: GgufType.STRING, value: spec.name ?? "test model" }],
    ["general.file_type", { type: GgufType.UINT32, value: spec.fileType ?? 15 }],
    [`${arch}.context_length`, { type: GgufType.UINT32, value: spec.context ?? 32768 }],
    [
      "tokenizer.ggml.tokens",
      {
        type: GgufType.ARRAY,
        itemType: GgufType.STRING,
        length: vocab,
        values: Array.from({ length: vocab }, (_, i) => `tok${i}`),
      },
    ],
  ]);
  if (spec.split) {
    metadata.set("split.no", { type: GgufType.UINT16, value: spec.split.no });
    metadata.set("split.count", { type: GgufType.UINT16, value: spec.split.count });
  }
  const { tensors, params } = llamaTensors(spec);
  writeGguf(path, metadata, tensors);
  return params;
}

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** A Hugging Face hub cache entry: blobs named by sha256, snapshots of symlinks into them. */
export function hfCacheRepo(
  hub: string,
  repo: string,
  revisions: Record<string, Record<string, string>>,
): void {
  const base = join(hub, `models--${repo.replace("/", "--")}`);
  mkdirSync(join(base, "blobs"), { recursive: true });
  for (const [revision, files] of Object.entries(revisions)) {
    for (const [file, source] of Object.entries(files)) {
      const sha = sha256File(source);
      const blob = join(base, "blobs", sha);
      writeFileSync(blob, readFileSync(source));
      const link = join(base, "snapshots", revision, file);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(relative(dirname(link), blob), link);
    }
  }
  mkdirSync(join(base, "refs"), { recursive: true });
  writeFileSync(join(base, "refs", "main"), Object.keys(revisions).at(-1)!);
}

/** An Ollama store: a manifest naming the GGUF blob by its sha256. */
export function ollamaModel(store: string, name: string, tag: string, source: string): string {
  const sha = sha256File(source);
  const blob = join(store, "blobs", `sha256-${sha}`);
  mkdirSync(dirname(blob), { recursive: true });
  writeFileSync(blob, readFileSync(source));
  const manifest = join(store, "manifests", "registry.ollama.ai", "library", name, tag);
  mkdirSync(dirname(manifest), { recursive: true });
  writeFileSync(
    manifest,
    JSON.stringify({
      schemaVersion: 2,
      layers: [
        { mediaType: "application/vnd.ollama.image.model", digest: `sha256:${sha}`, size: 1 },
        { mediaType: "application/vnd.ollama.image.template", digest: "sha256:00", size: 1 },
      ],
    }),
  );
  return blob;
}

/** An MLX folder: config.json with its quantisation and one safetensors file of packed 4-bit weights. */
export function mlxFolder(dir: string): number {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      architectures: ["Qwen2ForCausalLM"],
      model_type: "qwen2",
      max_position_embeddings: 40960,
      quantization: { group_size: 64, bits: 4 },
    }),
  );
  const tensors = {
    "layers.0.mlp.weight": { dtype: "U32", shape: [64, 8], bytes: 64 * 8 * 4 },
    "layers.0.mlp.scales": { dtype: "F16", shape: [64, 1], bytes: 128 },
    "layers.0.mlp.biases": { dtype: "F16", shape: [64, 1], bytes: 128 },
    "norm.weight": { dtype: "F16", shape: [64], bytes: 128 },
  };
  let offset = 0;
  const header: Record<string, unknown> = { __metadata__: { format: "mlx" } };
  for (const [name, tensor] of Object.entries(tensors)) {
    header[name] = {
      dtype: tensor.dtype,
      shape: tensor.shape,
      data_offsets: [offset, offset + tensor.bytes],
    };
    offset += tensor.bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(join(dir, "model.safetensors"), Buffer.concat([length, json, Buffer.alloc(offset, 1)]));
  return 64 * 8 * 8 + 64;
}

/** The dimensions of a published model, as its GGUF header states them: what memory estimates are tested on. */
export interface RealShape {
  /** File name stem in the test-model cache. */
  name: string;
  arch: "llama" | "qwen2";
  /** Vocabulary file under the llama.cpp checkout's models/. */
  vocab: string;
  layers: number;
  embedding: number;
  feedForward: number;
  heads: number;
  kvHeads: number;
  context: number;
  ropeBase: number;
  /** Qwen2 has biases on q, k and v. */
  qkvBias?: boolean;
  /** Llama 3 ships its rope scaling as a small tensor. */
  ropeFreqs?: boolean;
}

export const QWEN25_05B: RealShape = {
  name: "qwen2.5-0.5b-shaped-q8_0-v1",
  arch: "qwen2",
  vocab: "models/ggml-vocab-qwen2.gguf",
  layers: 24,
  embedding: 896,
  feedForward: 4864,
  heads: 14,
  kvHeads: 2,
  context: 32768,
  ropeBase: 1_000_000,
  qkvBias: true,
};

export const LLAMA32_1B: RealShape = {
  name: "llama-3.2-1b-shaped-q8_0-v1",
  arch: "llama",
  vocab: "models/ggml-vocab-llama-bpe.gguf",
  layers: 16,
  embedding: 2048,
  feedForward: 8192,
  heads: 32,
  kvHeads: 8,
  context: 131072,
  ropeBase: 500_000,
  ropeFreqs: true,
};

/** Q8_0 blocks of random int8s under one small scale: real bytes at the real size, written fast. */
function randomQ8_0(count: number): Buffer {
  const blocks = count / 32;
  const data = randomFillSync(Buffer.allocUnsafe(blocks * 34));
  // f16 0x0c00 is about 0.00024: weights within ±0.03, small enough that activations stay finite.
  for (let block = 0; block < blocks; block++) data.writeUInt16LE(0x0c00, block * 34);
  return data;
}

const f32Filled = (count: number, value: number): Buffer => {
  const values = new Float32Array(count).fill(value);
  return Buffer.from(values.buffer);
};

/**
 * A GGUF with a published model's exact tensor shapes and tokenizer, random Q8_0 weights (norms and
 * biases F32, as converted models have them) and tied embeddings: llama-server loads and runs it, and
 * its buffers are the real model's.
 */
export function writeRealShapedModel(llamaSource: string, path: string, shape: RealShape): void {
  const { arch, embedding, feedForward, heads, kvHeads } = shape;
  const headDim = embedding / heads;
  const kvWidth = kvHeads * headDim;
  const vocabFile = readGguf(join(llamaSource, shape.vocab), { arrays: true });
  const vocabSize = (vocabFile.metadata.get("tokenizer.ggml.tokens") as { length: number }).length;
  const u32 = (value: number): GgufValue => ({ type: GgufType.UINT32, value });
  const f32 = (value: number): GgufValue => ({ type: GgufType.FLOAT32, value });
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", { type: GgufType.STRING, value: arch }],
    ["general.name", { type: GgufType.STRING, value: shape.name }],
    ["general.file_type", u32(7)],
    [`${arch}.context_length`, u32(shape.context)],
    [`${arch}.embedding_length`, u32(embedding)],
    [`${arch}.block_count`, u32(shape.layers)],
    [`${arch}.feed_forward_length`, u32(feedForward)],
    [`${arch}.attention.head_count`, u32(heads)],
    [`${arch}.attention.head_count_kv`, u32(kvHeads)],
    [`${arch}.rope.freq_base`, f32(shape.ropeBase)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(1e-6)],
  ]);
  for (const [key, value] of vocabFile.metadata) if (key.startsWith("tokenizer.")) metadata.set(key, value);
  const quantised = (name: string, dims: number[]): TensorData => ({
    name,
    dims,
    type: GgmlType.Q8_0,
    data: randomQ8_0(dims[0]! * dims[1]!),
  });
  const filled = (name: string, length: number, value: number): TensorData => ({
    name,
    dims: [length],
    type: GgmlType.F32,
    data: f32Filled(length, value),
  });
  const tensors: TensorData[] = [quantised("token_embd.weight", [embedding, vocabSize])];
  if (shape.ropeFreqs) tensors.push(filled("rope_freqs.weight", headDim / 2, 1));
  for (let layer = 0; layer < shape.layers; layer++) {
    const blk = `blk.${layer}`;
    tensors.push(
      filled(`${blk}.attn_norm.weight`, embedding, 1),
      quantised(`${blk}.attn_q.weight`, [embedding, embedding]),
      quantised(`${blk}.attn_k.weight`, [embedding, kvWidth]),
      quantised(`${blk}.attn_v.weight`, [embedding, kvWidth]),
      quantised(`${blk}.attn_output.weight`, [embedding, embedding]),
      filled(`${blk}.ffn_norm.weight`, embedding, 1),
      quantised(`${blk}.ffn_gate.weight`, [embedding, feedForward]),
      quantised(`${blk}.ffn_up.weight`, [embedding, feedForward]),
      quantised(`${blk}.ffn_down.weight`, [feedForward, embedding]),
    );
    if (shape.qkvBias)
      tensors.push(
        filled(`${blk}.attn_q.bias`, embedding, 0),
        filled(`${blk}.attn_k.bias`, kvWidth, 0),
        filled(`${blk}.attn_v.bias`, kvWidth, 0),
      );
  }
  tensors.push(filled("output_norm.weight", embedding, 1));
  writeGguf(path, metadata, tensors);
}

/** A real-shaped model, written once per machine into rig's cache (a few hundred MB to 1.3 GB). */
export async function realShapedModel(shape: RealShape): Promise<string> {
  const dir = join(cacheRoot(), "test-models");
  const path = join(dir, `${shape.name}.gguf`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  writeRealShapedModel(await ensureLlamaSource(), partial, shape);
  renameSync(partial, path);
  return path;
}
