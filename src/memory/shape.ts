import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { SHARD_PATTERN } from "../inventory/formats.ts";
import { GgufType, readGguf, tensorByteSizes } from "../inventory/gguf.ts";
import type { MetadataValue, ModelShape, ModelTensor } from "../runtimes/types.ts";

/** Per-layer arrays are as long as the model is deep; longer ones are vocabularies. */
const LONGEST_SHAPE_ARRAY = 4096;

/** The files of a GGUF model: the one file, or every shard of a split model. */
function ggufFiles(path: string): string[] {
  const shard = SHARD_PATTERN.exec(basename(path));
  if (!shard) return [path];
  const count = Number(shard[3]);
  return Array.from({ length: count }, (_, index) =>
    join(dirname(path), `${shard[1]}-${String(index + 1).padStart(5, "0")}-of-${shard[3]}.gguf`),
  ).filter(existsSync);
}

function ggufShape(path: string): ModelShape {
  const gguf: Record<string, MetadataValue> = {};
  const tensors: ModelTensor[] = [];
  ggufFiles(path).forEach((file, index) => {
    const header = readGguf(file, { numericArrays: true });
    if (index === 0) {
      for (const [key, entry] of header.metadata) {
        if (entry.type !== GgufType.ARRAY) {
          gguf[key] = typeof entry.value === "bigint" ? Number(entry.value) : entry.value;
        } else if (entry.values && entry.length <= LONGEST_SHAPE_ARRAY) {
          gguf[key] = entry.values.map((value) => (typeof value === "boolean" ? value : Number(value)));
        }
      }
    }
    const sizes = tensorByteSizes(header, statSync(file).size);
    header.tensors.forEach((tensor, at) => {
      tensors.push({ name: tensor.name, bytes: sizes[at]!, dims: tensor.dims });
    });
  });
  return { format: "gguf", tensors, gguf };
}

/** Tensor names and byte sizes from a .safetensors header (its data_offsets). */
function safetensorsTensors(file: string): ModelTensor[] {
  const fd = openSync(file, "r");
  try {
    const prefix = Buffer.alloc(8);
    readSync(fd, prefix, 0, 8, 0);
    const length = Number(prefix.readBigUInt64LE(0));
    if (length > 100 << 20) throw new Error(`${file}: safetensors header of ${length} bytes`);
    const header = Buffer.allocUnsafe(length);
    readSync(fd, header, 0, length, 8);
    const entries = JSON.parse(header.toString("utf8")) as Record<
      string,
      { data_offsets?: [number, number]; shape?: number[] }
    >;
    return Object.entries(entries)
      .filter(([name, entry]) => name !== "__metadata__" && entry.data_offsets)
      .map(([name, entry]) => ({
        name,
        bytes: entry.data_offsets![1] - entry.data_offsets![0],
        dims: entry.shape,
      }));
  } finally {
    closeSync(fd);
  }
}

function folderShape(dir: string): ModelShape {
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  const tensors = readdirSync(dir)
    .filter((name) => name.endsWith(".safetensors"))
    .sort()
    .flatMap((name) => safetensorsTensors(join(dir, name)));
  const format = config.quantization !== undefined || /mlx/i.test(dir) ? "mlx" : "safetensors";
  return { format, tensors, config };
}

const cache = new Map<string, { stamp: string; shape: ModelShape }>();

/**
 * What a model's files say about its memory: every tensor's bytes and the metadata that sizes its KV
 * cache. Headers only, never the weights; remembered until the file changes.
 */
export function readModelShape(path: string): ModelShape {
  const stat = statSync(path);
  const stamp = `${stat.size}:${stat.mtimeMs}`;
  const known = cache.get(path);
  if (known?.stamp === stamp) return known.shape;
  const shape = stat.isDirectory() ? folderShape(path) : ggufShape(path);
  cache.set(path, { stamp, shape });
  return shape;
}
