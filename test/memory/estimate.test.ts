import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { GgmlType, GgufType, readGguf, writeGguf } from "../../src/inventory/gguf.ts";
import { readModelShape } from "../../src/memory/shape.ts";
import { estimateLlamaServer, llamaServerMemory } from "../../src/runtimes/llama-cpp-memory.ts";
import { lmstudio } from "../../src/runtimes/lmstudio.ts";
import { mlx } from "../../src/runtimes/mlx.ts";
import { ollama } from "../../src/runtimes/ollama.ts";
import type { LaunchInput, MachineShape, ModelShape, ModelTensor } from "../../src/runtimes/types.ts";
import { vllm } from "../../src/runtimes/vllm.ts";
import { writeModelGguf } from "../support/model-trees.ts";

// Estimates are pure: a model's shape and the flags in, bytes out. Shapes here are data with real
// models' dimensions; test/memory/real-shapes.test.ts checks them against a real llama-server.

const MIB = 1024 * 1024;
const CPU: MachineShape = { acceleratorBytes: 0, unified: false };
const GPU: MachineShape = { acceleratorBytes: 24e9, unified: false };

const input = (args: string[] = [], context?: number): LaunchInput => ({
  name: "m",
  args,
  host: "127.0.0.1",
  port: "8080",
  env: {},
  context,
});

/** A llama-architecture GGUF of `layers` blocks: 10 MiB per block, 100 MiB of embeddings, tied output. */
function llamaShape(metadata: Record<string, number | string | boolean[]> = {}, layers = 16): ModelShape {
  const tensors: ModelTensor[] = [{ name: "token_embd.weight", bytes: 100 * MIB, dims: [2048, 128256] }];
  for (let layer = 0; layer < layers; layer++)
    tensors.push({ name: `blk.${layer}.attn_q.weight`, bytes: 10 * MIB, dims: [2048, 2048] });
  tensors.push({ name: "output_norm.weight", bytes: 8192, dims: [2048] });
  return {
    format: "gguf",
    tensors,
    gguf: {
      "general.architecture": "llama",
      "llama.block_count": layers,
      "llama.embedding_length": 2048,
      "llama.feed_forward_length": 8192,
      "llama.attention.head_count": 32,
      "llama.attention.head_count_kv": 8,
      "llama.context_length": 131072,
      ...metadata,
    },
  };
}

/** K and V bytes per token per layer of the shape above at f16: 8 heads × 64 dims × 2 × 2 bytes. */
const KV_PER_TOKEN_LAYER = 8 * 64 * 2 * 2;

describe("llama.cpp estimate", () => {
  test("the KV cache holds the context (padded to 256) once, however many slots share it", () => {
    const auto = estimateLlamaServer(input([], 4000), llamaShape(), CPU)!;
    assert.equal(auto.kv, 4096 * 16 * KV_PER_TOKEN_LAYER);
    assert.equal(auto.slots, 4);
    assert.equal(auto.slotContext, 4096, "--parallel auto: every slot may use the whole cache");
    const split = estimateLlamaServer(input(["-np", "2"], 8192), llamaShape(), CPU)!;
    assert.equal(split.kv, 8192 * 16 * KV_PER_TOKEN_LAYER);
    assert.equal(split.slotContext, 4096, "--parallel 2 splits the context between the slots");
  });

  test("--ctx-size in args wins over context:, and the model's trained context is the default", () => {
    assert.equal(estimateLlamaServer(input(["-c", "2048"], 8192), llamaShape(), CPU)!.context, 2048);
    assert.equal(estimateLlamaServer(input(["--ctx-size=0"]), llamaShape(), CPU)!.context, 131072);
    assert.equal(
      estimateLlamaServer(input([], 8192), llamaShape(), CPU, 1000)!.context,
      1024,
      "an asked context wins",
    );
  });

  test("a quantised cache type shrinks K and V by its bytes per value", () => {
    const f16 = estimateLlamaServer(input([], 8192), llamaShape(), CPU)!;
    const q8 = estimateLlamaServer(
      input(["-ctk", "q8_0", "--cache-type-v", "q8_0"], 8192),
      llamaShape(),
      CPU,
    )!;
    const q4k = estimateLlamaServer(input(["-ctk", "q4_0"], 8192), llamaShape(), CPU)!;
    assert.equal(q8.kv, (f16.kv * 34) / 64);
    assert.equal(q4k.kv, f16.kv / 2 + (f16.kv / 2) * (18 / 64));
  });

  test("sliding-window layers keep only their window: gemma3 slides five layers in six", () => {
    const gemma = (window: number) =>
      ({
        ...llamaShape(),
        gguf: {
          ...llamaShape().gguf,
          "general.architecture": "gemma3",
          "gemma3.block_count": 12,
          "gemma3.embedding_length": 2048,
          "gemma3.attention.head_count": 32,
          "gemma3.attention.head_count_kv": 8,
          "gemma3.context_length": 131072,
          "gemma3.attention.sliding_window": window,
        },
      }) as ModelShape;
    const estimate = estimateLlamaServer(input(["-np", "1"], 32768), gemma(1024), CPU)!;
    const window = 1024 + 512; // the window and one micro-batch, a multiple of 256 already
    assert.equal(estimate.kv, (2 * 32768 + 10 * window) * KV_PER_TOKEN_LAYER);
    const full = estimateLlamaServer(input(["-np", "1", "--swa-full"], 32768), gemma(1024), CPU)!;
    assert.equal(full.kv, 12 * 32768 * KV_PER_TOKEN_LAYER);
  });

  test("per-layer KV heads: layers without attention hold no KV cache", () => {
    const hybrid = llamaShape({}, 4);
    const shape = {
      ...hybrid,
      gguf: { ...hybrid.gguf, "llama.attention.head_count_kv": [8, 0, 0, 8] },
    } as ModelShape;
    assert.equal(estimateLlamaServer(input([], 1024), shape, CPU)!.kv, 2 * 1024 * KV_PER_TOKEN_LAYER);
  });

  test("with a GPU: all layers offloaded by default; -ngl keeps the first layers in RAM; tied output is loaded twice", () => {
    const all = estimateLlamaServer(input([], 4096), llamaShape(), GPU)!;
    const weights = 100 * MIB + 16 * 10 * MIB + 8192;
    assert.equal(all.weights, weights + 100 * MIB, "token_embd again for the output layer on the GPU");
    assert.equal(all.host, 100 * MIB + 4 * 4 * 128256, "the input embedding and the logits stay in RAM");
    const half = estimateLlamaServer(input(["-ngl", "8"], 4096), llamaShape(), GPU)!;
    const kvPerLayer = 4096 * KV_PER_TOKEN_LAYER;
    assert.equal(
      all.accelerator - half.accelerator,
      9 * (10 * MIB + kvPerLayer),
      "-ngl 8 of 17 layers (16 blocks and the output): blocks 0 to 8 and their KV stay in RAM",
    );
    const none = estimateLlamaServer(input(["-ngl", "0"], 4096), llamaShape(), GPU)!;
    assert.equal(none.accelerator, 0);
    assert.equal(
      estimateLlamaServer(input([], 4096), llamaShape(), CPU)!.accelerator,
      0,
      "no GPU: all in RAM",
    );
  });

  test("MoE experts stay in RAM with --n-cpu-moe, --cpu-moe or -ot exps=CPU", () => {
    const moe: ModelShape = {
      format: "gguf",
      tensors: [0, 1, 2, 3].flatMap((layer) => [
        { name: `blk.${layer}.ffn_up_exps.weight`, bytes: 100 * MIB },
        { name: `blk.${layer}.attn_q.weight`, bytes: 1 * MIB },
      ]),
      gguf: {
        ...llamaShape().gguf,
        "llama.block_count": 4,
        "llama.expert_count": 8,
        "llama.expert_used_count": 2,
      },
    };
    const onGpu = (args: string[]) => estimateLlamaServer(input(args, 1024), moe, GPU)!.accelerator;
    const all = onGpu([]);
    assert.equal(all - onGpu(["--n-cpu-moe", "3"]), 300 * MIB, "the experts of the first three layers");
    assert.equal(all - onGpu(["--cpu-moe"]), 400 * MIB);
    assert.equal(all - onGpu(["-ot", "blk\\.[0-1]\\.ffn_.*_exps=CPU"]), 200 * MIB);
  });

  test("flash attention off: attention scores dominate the compute buffer", () => {
    const on = estimateLlamaServer(input([], 8192), llamaShape(), CPU)!;
    const off = estimateLlamaServer(input(["-fa", "off"], 8192), llamaShape(), CPU)!;
    assert.ok(off.compute > on.compute + 8192 * 512 * 32 * 4 * 0.9);
  });

  test("the buffer sizes llama-server logs are read back, host and device apart", () => {
    const lines = [
      "0.00.680.329 I load_tensors:   CPU_Mapped model buffer size =  1252.41 MiB",
      "0.00.680.329 I load_tensors:        CUDA0 model buffer size =  1000.00 MiB",
      "0.00.682.429 I llama_context:        CPU  output buffer size =     1.96 MiB",
      "0.00.682.483 I llama_kv_cache:        CUDA0 KV buffer size =    34.00 MiB",
      "0.00.701.547 I sched_reserve:        CUDA0 compute buffer size =    62.04 MiB",
      "0.00.701.547 I sched_reserve:    CUDA_Host compute buffer size =    10.00 MiB",
      "0.00.800.000 I srv  update_slots: all slots are idle",
    ];
    assert.deepEqual(llamaServerMemory(lines), {
      host: Math.round(1252.41 * MIB) + Math.round(1.96 * MIB) + 10 * MIB,
      accelerator: 1000 * MIB + 34 * MIB + Math.round(62.04 * MIB),
      source: "llama-server log",
    });
    assert.equal(llamaServerMemory(["0.00 I srv  load_model: loading model"]), undefined);
  });
});

describe("other runtimes", () => {
  const folder: ModelShape = {
    format: "mlx",
    tensors: [{ name: "model.safetensors", bytes: 4e9 }],
    config: {
      num_hidden_layers: 28,
      num_attention_heads: 16,
      num_key_value_heads: 8,
      hidden_size: 2048,
      head_dim: 128,
      intermediate_size: 6144,
      max_position_embeddings: 40960,
    },
  };

  test("MLX: weights from the headers and a 16-bit KV cache for the context, all in unified memory", () => {
    const estimate = mlx.estimateMemory!(input([], 8192), folder, { acceleratorBytes: 48e9, unified: true })!;
    assert.equal(estimate.weights, 4e9);
    assert.equal(estimate.kv, 2 * 28 * 8 * 128 * 8192 * 2);
    assert.equal(estimate.host, 0);
  });

  test("vLLM reserves its --gpu-memory-utilization of the GPU; the KV cache takes what weights leave", () => {
    const estimate = vllm.estimateMemory!(input(["--gpu-memory-utilization", "0.5"]), folder, GPU)!;
    assert.equal(estimate.accelerator, 12e9);
    assert.equal(estimate.kv, 8e9);
  });

  test("LM Studio sizes a GGUF as llama.cpp would at its context", () => {
    const estimate = lmstudio.estimateMemory!(input(["--gpu", "max"], 4096), llamaShape(), CPU)!;
    assert.equal(estimate.kv, estimateLlamaServer(input([], 4096), llamaShape(), CPU)!.kv);
  });

  test("Ollama says what a loaded tag takes in /api/ps, and how much of it is on the GPU", () => {
    const ps = { models: [{ name: "llama3:latest", model: "llama3:latest", size: 6e9, size_vram: 5e9 }] };
    assert.deepEqual(ollama.memoryProbe!.read(ps, "llama3"), {
      accelerator: 5e9,
      host: 1e9,
      source: "ollama /api/ps",
    });
    assert.equal(ollama.memoryProbe!.read(ps, "qwen3"), undefined);
    assert.equal(
      ollama.estimateMemory,
      undefined,
      "Ollama sizes a model itself: no estimate before it loads",
    );
  });
});

describe("reading a model's shape", () => {
  test("tensor bytes come from the data offsets, over every shard of a split model", () => {
    const dir = mkdtempSync(join(tmpdir(), "rig-shape-"));
    for (const no of [1, 2])
      writeModelGguf(join(dir, `m-0000${no}-of-00002.gguf`), {
        layers: 2,
        tensorBytes: 4096,
        split: { no, count: 2 },
      });
    const shape = readModelShape(join(dir, "m-00001-of-00002.gguf"));
    assert.equal(shape.format, "gguf");
    assert.equal(shape.tensors.length, 2 * 8);
    assert.equal(
      shape.tensors.reduce((sum, tensor) => sum + tensor.bytes, 0),
      2 * 8 * 4096,
    );
    assert.equal(shape.gguf!["llama.context_length"], 32768);
  });

  test("a header larger than the writer's first buffer (a real vocabulary) is written intact", () => {
    const path = join(mkdtempSync(join(tmpdir(), "rig-vocab-")), "vocab.gguf");
    const tokens = Array.from({ length: 200_000 }, (_, index) => `token-${index}`);
    writeGguf(
      path,
      new Map([
        [
          "tokenizer.ggml.tokens",
          { type: GgufType.ARRAY, itemType: GgufType.STRING, length: tokens.length, values: tokens },
        ],
      ]),
      [{ name: "token_embd.weight", dims: [32], type: GgmlType.F32, data: Buffer.alloc(128) }],
    );
    const read = readGguf(path, { arrays: true }).metadata.get("tokenizer.ggml.tokens") as {
      values: string[];
    };
    assert.deepEqual(read.values, tokens);
  });
});
