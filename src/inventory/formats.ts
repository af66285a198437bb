import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { readGguf, scalarOf } from "./gguf.ts";

/** What the headers say about a model; every field is optional because files omit them. */
export interface ModelFacts {
  arch?: string;
  params?: number;
  quant?: string;
  context?: number;
  name?: string;
}

/** llama_ftype (llama.h): what `general.file_type` means. */
const FILE_TYPES: Record<number, string> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  19: "IQ2_XXS",
  20: "IQ2_XS",
  21: "Q2_K_S",
  22: "IQ3_XS",
  23: "IQ3_XXS",
  24: "IQ1_S",
  25: "IQ4_NL",
  26: "IQ3_S",
  27: "IQ3_M",
  28: "IQ2_S",
  29: "IQ2_M",
  30: "IQ4_XS",
  31: "IQ1_M",
  32: "BF16",
  36: "TQ1_0",
  37: "TQ2_0",
  38: "MXFP4_MOE",
  39: "NVFP4",
  40: "Q1_0",
  41: "Q2_0",
};

/** `name-00001-of-00003.gguf`: one model split into shards that llama.cpp loads from the first. */
export const SHARD_PATTERN = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/;

const optionalNumber = (value: unknown) => (value === undefined ? undefined : Number(value));

/** Facts from a GGUF header; `params` counts only the tensors in this file (a shard holds a part). */
export function ggufFacts(path: string): ModelFacts {
  const { metadata, tensors } = readGguf(path);
  const arch = scalarOf(metadata, "general.architecture");
  const fileType = scalarOf(metadata, "general.file_type");
  return {
    arch: arch === undefined ? undefined : String(arch),
    params: tensors.reduce((sum, tensor) => sum + tensor.dims.reduce((product, dim) => product * dim, 1), 0),
    quant: fileType === undefined ? undefined : (FILE_TYPES[Number(fileType)] ?? `file_type ${fileType}`),
    context: optionalNumber(scalarOf(metadata, `${String(arch)}.context_length`)),
    name: scalarOf(metadata, "general.name")?.toString(),
  };
}

/** The JSON header of a .safetensors file: tensor name → dtype and shape. */
function safetensorsHeader(path: string): Record<string, { dtype?: string; shape?: number[] }> {
  const fd = openSync(path, "r");
  try {
    const size = Buffer.alloc(8);
    readSync(fd, size, 0, 8, 0);
    const length = Number(size.readBigUInt64LE(0));
    if (length > 100 << 20) throw new Error(`${path}: safetensors header of ${length} bytes`);
    const header = Buffer.allocUnsafe(length);
    readSync(fd, header, 0, length, 8);
    return JSON.parse(header.toString("utf8"));
  } finally {
    closeSync(fd);
  }
}

/**
 * Parameters from safetensors headers. MLX stores a quantised weight as uint32 words packing
 * 32/bits values, with `.scales` and `.biases` beside it: those count as the weight they encode.
 */
function countParams(files: string[], bits: number | undefined): number {
  let params = 0;
  for (const file of files) {
    const tensors = safetensorsHeader(file);
    const isPacked = (base: string) => bits !== undefined && tensors[`${base}.scales`] !== undefined;
    for (const [name, tensor] of Object.entries(tensors)) {
      if (name === "__metadata__" || !tensor.shape) continue;
      const elements = tensor.shape.reduce((product, dim) => product * dim, 1);
      const base = name.replace(/\.(weight|scales|biases)$/, "");
      if (name !== `${base}.weight` && isPacked(base)) continue;
      params += tensor.dtype === "U32" && isPacked(base) ? elements * (32 / bits!) : elements;
    }
  }
  return params;
}

const DTYPES: Record<string, string> = { bfloat16: "BF16", float16: "F16", float32: "F32" };

/** Facts from a Hugging Face style folder: config.json plus *.safetensors. MLX folders say how they quantise. */
export function safetensorsFacts(dir: string): ModelFacts & { format: "mlx" | "safetensors" } {
  // biome-ignore lint/suspicious/noExplicitAny: config.json is free-form across architectures
  const config: any = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const text = config.text_config ?? {};
  const mlxBits: number | undefined = config.quantization?.bits;
  const quantConfig = config.quantization_config;
  const format = mlxBits !== undefined || /mlx/i.test(dir) ? "mlx" : "safetensors";
  const dtype = config.torch_dtype ?? config.dtype ?? text.torch_dtype;
  const quant =
    mlxBits !== undefined
      ? `${mlxBits}bit`
      : quantConfig?.quant_method
        ? [quantConfig.quant_method, quantConfig.bits && `${quantConfig.bits}bit`].filter(Boolean).join("-")
        : typeof dtype === "string"
          ? (DTYPES[dtype] ?? dtype)
          : undefined;
  const files = readdirSync(dir)
    .filter((name) => name.endsWith(".safetensors"))
    .sort()
    .map((name) => join(dir, name));
  let params: number | undefined;
  try {
    params = countParams(files, mlxBits);
  } catch {
    params = undefined;
  }
  return {
    format,
    arch: config.architectures?.[0] ?? config.model_type,
    params: params || undefined,
    quant,
    context: config.max_position_embeddings ?? text.max_position_embeddings,
  };
}

/** 7_615_616_512 → "7.6B". */
export function formatParams(params: number | undefined): string {
  if (!params) return "";
  for (const [unit, scale] of [
    ["T", 1e12],
    ["B", 1e9],
    ["M", 1e6],
    ["K", 1e3],
  ] as const) {
    if (params >= scale) return `${(params / scale).toFixed(params >= scale * 100 ? 0 : 1)}${unit}`;
  }
  return String(params);
}
