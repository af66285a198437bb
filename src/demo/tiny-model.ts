import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  f32Data,
  GgmlType,
  GgufType,
  type GgufValue,
  q8_0Data,
  readGguf,
  type TensorData,
  writeGguf,
} from "../inventory/gguf.ts";

export const TINY_VOCAB = "models/ggml-vocab-qwen2.gguf";
export const TINY_TEMPLATE = "models/templates/Qwen-Qwen2.5-7B-Instruct.jinja";

export interface TinyModelOptions {
  layers?: number;
  embedding?: number;
  heads?: number;
  feedForward?: number;
  context?: number;
  seed?: number;
  name?: string;
  /** Let the model end its turn: after a word the end-of-text token ranks just above every word, so
   * sampling picks it about once in forty tokens (greedy decoding stops after one word). It never
   * follows a token the model cannot say, such as the newline that ends a chat prompt, so an answer
   * always has a first word. */
  endsTurns?: boolean;
}

/** Deterministic PRNG (mulberry32) so the same options give the same bytes. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PLAIN_WORD = /^\u0120?[a-z]{2,}$/;

/**
 * Writes a tiny llama-architecture GGUF that llama-server loads and serves fast. It can only say
 * ordinary lowercase words: every token embeds to the same vector, every layer is the identity
 * (attention output and FFN down are zero), and the output head favours plain word tokens over all
 * special ones, so chat-template parsers never see stray `<tool_call>` or `<think>` tokens.
 * Its text is noise; it exists to test plumbing with a real runtime.
 */
export function writeTinyModel(llamaSource: string, outPath: string, options: TinyModelOptions = {}): void {
  const layers = options.layers ?? 2;
  const embedding = options.embedding ?? 64;
  const heads = options.heads ?? 2;
  const feedForward = options.feedForward ?? 128;
  const context = options.context ?? 65536;
  const next = seededRandom(options.seed ?? 42);
  const noise = (scale: number) => (next() * 2 - 1) * scale;

  const vocab = readGguf(join(llamaSource, TINY_VOCAB), { arrays: true });
  const tokens = vocab.metadata.get("tokenizer.ggml.tokens");
  const tokenTypes = vocab.metadata.get("tokenizer.ggml.token_type");
  if (
    tokens?.type !== GgufType.ARRAY ||
    !tokens.values ||
    tokenTypes?.type !== GgufType.ARRAY ||
    !tokenTypes.values
  ) {
    throw new Error(`${TINY_VOCAB} has no token list`);
  }
  const vocabSize = tokens.length;
  const template = readFileSync(join(llamaSource, TINY_TEMPLATE), "utf8");

  const metadata = new Map<string, GgufValue>();
  const u32 = (value: number): GgufValue => ({ type: GgufType.UINT32, value });
  const f32 = (value: number): GgufValue => ({ type: GgufType.FLOAT32, value });
  metadata.set("general.architecture", { type: GgufType.STRING, value: "llama" });
  metadata.set("general.name", { type: GgufType.STRING, value: options.name ?? "rig-tiny" });
  metadata.set("general.alignment", u32(32));
  metadata.set("general.file_type", u32(7));
  metadata.set("llama.context_length", u32(context));
  metadata.set("llama.embedding_length", u32(embedding));
  metadata.set("llama.block_count", u32(layers));
  metadata.set("llama.feed_forward_length", u32(feedForward));
  metadata.set("llama.attention.head_count", u32(heads));
  metadata.set("llama.attention.head_count_kv", u32(heads));
  metadata.set("llama.rope.dimension_count", u32(embedding / heads));
  metadata.set("llama.rope.freq_base", f32(10000));
  metadata.set("llama.attention.layer_norm_rms_epsilon", f32(1e-6));
  metadata.set("llama.vocab_size", u32(vocabSize));
  for (const [key, value] of vocab.metadata) {
    if (key.startsWith("tokenizer.") && key !== "tokenizer.chat_template") metadata.set(key, value);
  }
  metadata.set("tokenizer.chat_template", { type: GgufType.STRING, value: template });

  // A model that ends turns keeps the second half of each vector for tokens it cannot say (below):
  // one Q8_0 block of 32 each, so quantising never blurs the end-of-text token's narrow lead.
  const half = embedding / 2;
  const shared = Float32Array.from({ length: embedding }, (_, i) =>
    options.endsTurns && i >= half ? 0 : noise(1),
  );
  const rms = Math.sqrt(shared.reduce((sum, x) => sum + x * x, 0) / embedding);
  const norm = Math.sqrt(shared.reduce((sum, x) => sum + (x / rms) ** 2, 0));
  const direction = shared.map((x) => x / rms / norm);

  // Tokens the model cannot say embed partly along a second direction, against which the end-of-text
  // row points: with every layer the identity, the last prompt token alone decides the first
  // sampled token, and an empty answer would read to an agent as a failed turn.
  const unsayable = Float32Array.from({ length: embedding }, (_, i) =>
    options.endsTurns && i >= half ? noise(1) : 0,
  );
  const unsayableNorm = Math.hypot(...unsayable) || 1;
  unsayable.forEach((x, i) => {
    unsayable[i] = x / unsayableNorm;
  });
  const promptOnly = direction.map((x, i) => x + unsayable[i]!);

  const endOfText = Number(
    vocab.metadata.get("tokenizer.ggml.eos_token_id")?.type === GgufType.UINT32
      ? (vocab.metadata.get("tokenizer.ggml.eos_token_id") as { value: number }).value
      : -1,
  );
  const tokenEmbedding = new Float32Array(vocabSize * embedding);
  const output = new Float32Array(vocabSize * embedding);
  for (let token = 0; token < vocabSize; token++) {
    const word = tokenTypes.values[token] === 1 && PLAIN_WORD.test(String(tokens.values[token]));
    tokenEmbedding.set(options.endsTurns && !word ? promptOnly : shared, token * embedding);
    const endsTurn = options.endsTurns && token === endOfText;
    const weight = word ? 10 + next() : endsTurn ? 11.01 : -10;
    for (let i = 0; i < embedding; i++)
      output[token * embedding + i] = direction[i]! * weight - (endsTurn ? unsayable[i]! * 30 : 0);
  }
  const ones = (length: number) => new Float32Array(length).fill(1);
  const randomMatrix = (length: number) => Float32Array.from({ length }, () => noise(0.1));
  const tensor = (name: string, dims: number[], values: Float32Array, quantised = false): TensorData => ({
    name,
    dims,
    type: quantised ? GgmlType.Q8_0 : GgmlType.F32,
    data: quantised ? q8_0Data(values) : f32Data(values),
  });

  const tensors: TensorData[] = [tensor("token_embd.weight", [embedding, vocabSize], tokenEmbedding, true)];
  for (let layer = 0; layer < layers; layer++) {
    const prefix = `blk.${layer}`;
    tensors.push(
      tensor(`${prefix}.attn_norm.weight`, [embedding], ones(embedding)),
      tensor(`${prefix}.attn_q.weight`, [embedding, embedding], randomMatrix(embedding * embedding)),
      tensor(`${prefix}.attn_k.weight`, [embedding, embedding], randomMatrix(embedding * embedding)),
      tensor(`${prefix}.attn_v.weight`, [embedding, embedding], randomMatrix(embedding * embedding)),
      tensor(`${prefix}.attn_output.weight`, [embedding, embedding], new Float32Array(embedding * embedding)),
      tensor(`${prefix}.ffn_norm.weight`, [embedding], ones(embedding)),
      tensor(`${prefix}.ffn_gate.weight`, [embedding, feedForward], randomMatrix(embedding * feedForward)),
      tensor(`${prefix}.ffn_up.weight`, [embedding, feedForward], randomMatrix(embedding * feedForward)),
      tensor(
        `${prefix}.ffn_down.weight`,
        [feedForward, embedding],
        new Float32Array(feedForward * embedding),
      ),
    );
  }
  tensors.push(
    tensor("output_norm.weight", [embedding], ones(embedding)),
    tensor("output.weight", [embedding, vocabSize], output, true),
  );
  writeGguf(outPath, metadata, tensors);
}
