import { command } from "./command.ts";
import { llamaCpp } from "./llama-cpp.ts";
import { lmstudio } from "./lmstudio.ts";
import { mlx } from "./mlx.ts";
import { ollama } from "./ollama.ts";
import { remote } from "./remote.ts";
import { sglang } from "./sglang.ts";
import type { RuntimeAdapter } from "./types.ts";
import { vllm } from "./vllm.ts";

export const RUNTIMES: Readonly<Record<string, RuntimeAdapter>> = Object.fromEntries(
  [llamaCpp, mlx, vllm, sglang, ollama, lmstudio, remote, command].map((adapter) => [adapter.kind, adapter]),
);

export const RUNTIME_KINDS = Object.keys(RUNTIMES) as [string, ...string[]];

export function runtimeFor(kind: string): RuntimeAdapter {
  const adapter = RUNTIMES[kind];
  if (!adapter) throw new Error(`unknown runtime "${kind}" (known: ${RUNTIME_KINDS.join(", ")})`);
  return adapter;
}
