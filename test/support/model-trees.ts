import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { GgmlType, GgufType, type GgufValue, type TensorData, writeGguf } from "../../src/inventory/gguf.ts";

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
