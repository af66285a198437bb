import { closeSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";

/** GGUF metadata value types (gguf.h). */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
type GgufTypeId = (typeof GgufType)[keyof typeof GgufType];

/** ggml tensor types rig writes or names. */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, BF16: 30 } as const;

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue =
  | { type: Exclude<GgufTypeId, 9>; value: GgufScalar }
  | { type: 9; itemType: GgufTypeId; length: number; values?: GgufScalar[] };

export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: number;
  offset: bigint;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Byte offset where tensor data starts. */
  dataOffset: number;
}

const SCALAR_SIZE: Partial<Record<GgufTypeId, number>> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};

/** Sequential reads over a file through a window buffer, so large headers never load whole. */
class Cursor {
  private buffer = Buffer.alloc(0);
  private start = 0;
  position = 0;
  constructor(
    private readonly fd: number,
    private readonly windowSize = 1 << 18,
  ) {}

  private ensure(bytes: number): void {
    if (this.position >= this.start && this.position + bytes <= this.start + this.buffer.length) return;
    const size = Math.max(bytes, this.windowSize);
    const buffer = Buffer.allocUnsafe(size);
    const read = readSync(this.fd, buffer, 0, size, this.position);
    if (read < bytes) throw new Error(`unexpected end of file at byte ${this.position}`);
    this.buffer = buffer.subarray(0, read);
    this.start = this.position;
  }

  private view(bytes: number): number {
    this.ensure(bytes);
    const at = this.position - this.start;
    this.position += bytes;
    return at;
  }

  u32(): number {
    const at = this.view(4);
    return this.buffer.readUInt32LE(at);
  }
  u64(): bigint {
    const at = this.view(8);
    return this.buffer.readBigUInt64LE(at);
  }
  bytes(length: number): Buffer {
    const at = this.view(length);
    return this.buffer.subarray(at, at + length);
  }
  string(): string {
    const length = Number(this.u64());
    return this.bytes(length).toString("utf8");
  }
  skipString(): void {
    const length = Number(this.u64());
    this.position += length;
  }
  scalar(type: GgufTypeId): GgufScalar {
    const at = this.view(SCALAR_SIZE[type] ?? 0);
    const b = this.buffer;
    switch (type) {
      case GgufType.UINT8:
        return b.readUInt8(at);
      case GgufType.INT8:
        return b.readInt8(at);
      case GgufType.UINT16:
        return b.readUInt16LE(at);
      case GgufType.INT16:
        return b.readInt16LE(at);
      case GgufType.UINT32:
        return b.readUInt32LE(at);
      case GgufType.INT32:
        return b.readInt32LE(at);
      case GgufType.FLOAT32:
        return b.readFloatLE(at);
      case GgufType.BOOL:
        return b.readUInt8(at) !== 0;
      case GgufType.UINT64:
        return b.readBigUInt64LE(at);
      case GgufType.INT64:
        return b.readBigInt64LE(at);
      case GgufType.FLOAT64:
        return b.readDoubleLE(at);
      default:
        throw new Error(`unknown GGUF value type ${type}`);
    }
  }
}

export interface ReadOptions {
  /** Materialise array values (vocabularies are large: the inventory skips them). */
  arrays?: boolean;
  /** Materialise arrays of numbers and booleans only (per-layer shapes), never the string lists. */
  numericArrays?: boolean;
}

/** Reads a GGUF header: metadata and tensor infos, never the weights. */
export function readGguf(path: string, options: ReadOptions = {}): GgufFile {
  const fd = openSync(path, "r");
  try {
    const cursor = new Cursor(fd);
    const magic = cursor.bytes(4).toString("latin1");
    if (magic !== "GGUF") throw new Error(`${path} is not a GGUF file (magic ${JSON.stringify(magic)})`);
    const version = cursor.u32();
    if (version < 2 || version > 3) throw new Error(`${path}: unsupported GGUF version ${version}`);
    const tensorCount = Number(cursor.u64());
    const kvCount = Number(cursor.u64());
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < kvCount; i++) {
      const key = cursor.string();
      const type = cursor.u32() as GgufTypeId;
      if (type === GgufType.ARRAY) {
        const itemType = cursor.u32() as GgufTypeId;
        const length = Number(cursor.u64());
        if (
          options.arrays ||
          (options.numericArrays && itemType !== GgufType.STRING && itemType !== GgufType.ARRAY)
        ) {
          const values: GgufScalar[] = [];
          for (let j = 0; j < length; j++)
            values.push(itemType === GgufType.STRING ? cursor.string() : cursor.scalar(itemType));
          metadata.set(key, { type, itemType, length, values });
        } else {
          if (itemType === GgufType.STRING) for (let j = 0; j < length; j++) cursor.skipString();
          else if (itemType === GgufType.ARRAY)
            throw new Error(`${path}: nested arrays in ${key} are not supported`);
          else cursor.position += length * (SCALAR_SIZE[itemType] ?? 0);
          metadata.set(key, { type, itemType, length });
        }
      } else {
        metadata.set(key, { type, value: type === GgufType.STRING ? cursor.string() : cursor.scalar(type) });
      }
    }
    const tensors: GgufTensorInfo[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = cursor.string();
      const nDims = cursor.u32();
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(Number(cursor.u64()));
      tensors.push({ name, dims, type: cursor.u32(), offset: cursor.u64() });
    }
    const alignment = Number(scalarOf(metadata, "general.alignment") ?? 32);
    const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
    return { version, metadata, tensors, dataOffset };
  } finally {
    closeSync(fd);
  }
}

/**
 * The bytes each tensor's data takes, in header order, from the gaps between data offsets (the last runs
 * to the end of the file): exact for every quantisation type, known or new, give or take alignment.
 */
export function tensorByteSizes(file: GgufFile, fileBytes: number): number[] {
  const byOffset = file.tensors.map((tensor, index) => ({ index, offset: Number(tensor.offset) }));
  byOffset.sort((a, b) => a.offset - b.offset);
  const sizes = new Array<number>(file.tensors.length).fill(0);
  const dataBytes = fileBytes - file.dataOffset;
  byOffset.forEach(({ index, offset }, position) => {
    sizes[index] = Math.max(0, (byOffset[position + 1]?.offset ?? dataBytes) - offset);
  });
  return sizes;
}

export function scalarOf(metadata: Map<string, GgufValue>, key: string): GgufScalar | undefined {
  const entry = metadata.get(key);
  return entry && entry.type !== GgufType.ARRAY ? entry.value : undefined;
}

export interface TensorData {
  name: string;
  /** ggml order: dims[0] is the row length. */
  dims: number[];
  type: number;
  /** The bytes, or a byte count: when any tensor gives a count, the file is a header and a hole of the full size (inventory tests). */
  data: Buffer | number;
}

const byteLength = (data: Buffer | number) => (typeof data === "number" ? data : data.length);

/** A growable byte buffer for the header; tensor data is appended as whole chunks. */
class Builder {
  private buffer = Buffer.alloc(1 << 20);
  private used = 0;
  readonly chunks: Buffer[] = [];
  get length(): number {
    return this.chunks.reduce((sum, chunk) => sum + chunk.length, 0) + this.used;
  }
  private reserve(bytes: number): number {
    if (this.used + bytes > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.used + bytes));
      this.buffer.copy(grown, 0, 0, this.used);
      this.buffer = grown;
    }
    const at = this.used;
    this.used += bytes;
    return at;
  }
  /** Ends the current header chunk so large tensor buffers are written without copying. */
  push(buffer: Buffer): void {
    this.flush();
    this.chunks.push(buffer);
  }
  flush(): void {
    if (this.used) this.chunks.push(this.buffer.subarray(0, this.used));
    this.buffer = Buffer.alloc(1 << 20);
    this.used = 0;
  }
  // Reserve before reading `this.buffer`: reserving may replace it with a larger one.
  u32(value: number): void {
    const at = this.reserve(4);
    this.buffer.writeUInt32LE(value, at);
  }
  u64(value: number | bigint): void {
    const at = this.reserve(8);
    this.buffer.writeBigUInt64LE(BigInt(value), at);
  }
  string(value: string): void {
    const length = Buffer.byteLength(value, "utf8");
    this.u64(length);
    const at = this.reserve(length);
    this.buffer.write(value, at, "utf8");
  }
  scalar(type: GgufTypeId, value: GgufScalar): void {
    if (type === GgufType.STRING) {
      this.string(String(value));
      return;
    }
    const at = this.reserve(SCALAR_SIZE[type] ?? 0);
    const b = this.buffer;
    switch (type) {
      case GgufType.UINT8:
      case GgufType.BOOL:
        b.writeUInt8(Number(value), at);
        break;
      case GgufType.INT8:
        b.writeInt8(Number(value), at);
        break;
      case GgufType.UINT16:
        b.writeUInt16LE(Number(value), at);
        break;
      case GgufType.INT16:
        b.writeInt16LE(Number(value), at);
        break;
      case GgufType.UINT32:
        b.writeUInt32LE(Number(value), at);
        break;
      case GgufType.INT32:
        b.writeInt32LE(Number(value), at);
        break;
      case GgufType.FLOAT32:
        b.writeFloatLE(Number(value), at);
        break;
      case GgufType.UINT64:
        b.writeBigUInt64LE(BigInt(value), at);
        break;
      case GgufType.INT64:
        b.writeBigInt64LE(BigInt(value), at);
        break;
      case GgufType.FLOAT64:
        b.writeDoubleLE(Number(value), at);
        break;
      default:
        throw new Error(`cannot write GGUF value type ${type}`);
    }
  }
  pad(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    this.reserve(padding);
  }
}

/** Writes a GGUF v3 file: metadata in the given order, then tensors aligned to general.alignment (32). */
export function writeGguf(path: string, metadata: Map<string, GgufValue>, tensors: TensorData[]): void {
  const alignment = 32;
  const out = new Builder();
  out.push(Buffer.from("GGUF", "latin1"));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.size);
  for (const [key, entry] of metadata) {
    out.string(key);
    out.u32(entry.type);
    if (entry.type === GgufType.ARRAY) {
      out.u32(entry.itemType);
      const values = entry.values ?? [];
      out.u64(values.length);
      for (const value of values) out.scalar(entry.itemType, value);
    } else {
      out.scalar(entry.type, entry.value);
    }
  }
  let offset = 0;
  for (const tensor of tensors) {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(tensor.type);
    out.u64(offset);
    offset += Math.ceil(byteLength(tensor.data) / alignment) * alignment;
  }
  out.pad(alignment);
  const headerLength = out.length;
  const sparse = tensors.some((tensor) => typeof tensor.data === "number");
  for (const tensor of sparse ? [] : tensors) {
    out.push(tensor.data as Buffer);
    out.pad(alignment);
  }
  out.flush();
  const fd = openSync(path, "w");
  try {
    for (const chunk of out.chunks) writeSync(fd, chunk);
    if (sparse) ftruncateSync(fd, headerLength + offset);
  } finally {
    closeSync(fd);
  }
}

export function f32Data(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** Q8_0: blocks of 32 values as an f16 scale and 32 int8s. */
export function q8_0Data(values: Float32Array): Buffer {
  if (values.length % 32 !== 0) throw new Error("Q8_0 needs a multiple of 32 values");
  const blocks = values.length / 32;
  const out = Buffer.alloc(blocks * 34);
  const quants = new Int8Array(out.buffer, out.byteOffset, out.length);
  for (let block = 0; block < blocks; block++) {
    const first = block * 32;
    let max = 0;
    for (let i = 0; i < 32; i++) max = Math.max(max, Math.abs(values[first + i]!));
    const scale = max / 127;
    const at = block * 34;
    out.writeUInt16LE(toHalf(scale), at);
    const inverse = scale ? 1 / scale : 0;
    for (let i = 0; i < 32; i++) quants[at + 2 + i] = Math.round(values[first + i]! * inverse);
  }
  return out;
}

const halfView = new DataView(new ArrayBuffer(4));
function toHalf(value: number): number {
  halfView.setFloat32(0, value);
  const bits = halfView.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent <= 0) return sign;
  if (exponent >= 31) return sign | 0x7c00;
  return sign | (exponent << 10) | Math.round(mantissa / 8192);
}
