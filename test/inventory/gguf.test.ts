import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  f32Data,
  GgmlType,
  GgufType,
  type GgufValue,
  q8_0Data,
  readGguf,
  scalarOf,
  writeGguf,
} from "../../src/inventory/gguf.ts";

test("a GGUF written by rig reads back: metadata of every type, arrays, tensor infos, aligned data", () => {
  const path = join(mkdtempSync(join(tmpdir(), "rig-gguf-")), "t.gguf");
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", { type: GgufType.STRING, value: "llama" }],
    ["llama.block_count", { type: GgufType.UINT32, value: 2 }],
    ["llama.rope.freq_base", { type: GgufType.FLOAT32, value: 10000 }],
    ["general.big", { type: GgufType.UINT64, value: 5_000_000_000n }],
    ["general.flag", { type: GgufType.BOOL, value: true }],
    ["general.signed", { type: GgufType.INT32, value: -7 }],
    [
      "tokenizer.ggml.tokens",
      { type: GgufType.ARRAY, itemType: GgufType.STRING, length: 3, values: ["a", "ü", "<|im_end|>"] },
    ],
    [
      "tokenizer.ggml.token_type",
      { type: GgufType.ARRAY, itemType: GgufType.INT32, length: 3, values: [1, 1, 3] },
    ],
  ]);
  const values = Float32Array.from({ length: 64 }, (_, i) => (i - 32) / 8);
  writeGguf(path, metadata, [
    { name: "a.weight", dims: [4], type: GgmlType.F32, data: f32Data(Float32Array.of(1, 2, 3, 4)) },
    { name: "b.weight", dims: [32, 2], type: GgmlType.Q8_0, data: q8_0Data(values) },
  ]);

  const skipped = readGguf(path);
  assert.equal(skipped.version, 3);
  assert.equal(scalarOf(skipped.metadata, "general.architecture"), "llama");
  assert.equal(scalarOf(skipped.metadata, "llama.block_count"), 2);
  assert.equal(scalarOf(skipped.metadata, "general.big"), 5_000_000_000n);
  assert.equal(scalarOf(skipped.metadata, "general.flag"), true);
  assert.equal(scalarOf(skipped.metadata, "general.signed"), -7);
  const tokens = skipped.metadata.get("tokenizer.ggml.tokens");
  assert.deepEqual(
    tokens,
    { type: GgufType.ARRAY, itemType: GgufType.STRING, length: 3 },
    "arrays are skipped unless asked for",
  );
  assert.deepEqual(
    skipped.tensors.map(({ name, dims, type, offset }) => ({ name, dims, type, offset })),
    [
      { name: "a.weight", dims: [4], type: GgmlType.F32, offset: 0n },
      { name: "b.weight", dims: [32, 2], type: GgmlType.Q8_0, offset: 32n },
    ],
  );
  assert.equal(skipped.dataOffset % 32, 0);

  const full = readGguf(path, { arrays: true });
  const fullTokens = full.metadata.get("tokenizer.ggml.tokens");
  assert.ok(fullTokens?.type === GgufType.ARRAY);
  assert.deepEqual(fullTokens.values, ["a", "ü", "<|im_end|>"]);

  const bytes = readFileSync(path);
  const a = bytes.subarray(skipped.dataOffset, skipped.dataOffset + 16);
  assert.deepEqual([...new Float32Array(a.buffer.slice(a.byteOffset, a.byteOffset + 16))], [1, 2, 3, 4]);
  const block = bytes.subarray(skipped.dataOffset + 32, skipped.dataOffset + 32 + 34);
  const half = block.readUInt16LE(0);
  const scale = 2 ** (((half >> 10) & 0x1f) - 15) * (1 + (half & 0x3ff) / 1024);
  assert.ok(Math.abs(scale - 4 / 127) < 1e-4, `f16 scale ${scale} is max|x|/127`);
  assert.equal(block.readInt8(2), -127, "the first value (-4) quantises to -127");
  assert.equal(statSync(path).size, skipped.dataOffset + 32 + 68 + 28);
});

test("reading something that is not GGUF says so", () => {
  const path = join(mkdtempSync(join(tmpdir(), "rig-gguf-")), "x.gguf");
  writeGguf(path, new Map(), []);
  writeFileSync(path, "PK\u0003\u0004 not a model");
  assert.throws(() => readGguf(path), /is not a GGUF file/);
});
