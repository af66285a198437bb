import { contextArgs, listenArgs, localUrl } from "./args.ts";
import { reservedFraction } from "./memory.ts";
import { COMMON_FAILURE_HINTS, type RuntimeAdapter } from "./types.ts";
import { parallelArgs, vllmNodeCommands } from "./vllm-nodes.ts";

export const vllm: RuntimeAdapter = {
  kind: "vllm",
  label: "vLLM (vllm serve)",
  requires: "model",
  modelKind: "path-or-id",
  formats: ["safetensors"],
  install: { hint: "`pip install vllm` provides it" },
  example: { model: "path/or/id-of-your-model" },
  defaultCommand: ["vllm"],
  detectable: true,
  dialects: ["chat", "completions", "embeddings", "responses"],
  defaultStartTimeoutMs: 20 * 60_000,
  acrossHosts: "nodes",
  nodeCommands(input) {
    return input.nodes?.length ? vllmNodeCommands(input.nodes, this.process(input)!.argv) : undefined;
  },
  process(input) {
    const [executable = "vllm", ...prefix] = input.command ?? this.defaultCommand;
    return {
      argv: [
        executable,
        ...prefix,
        "serve",
        input.model ?? "",
        ...listenArgs(input, "--served-model-name"),
        ...contextArgs(input, "--max-model-len"),
        ...parallelArgs(input),
        ...input.args,
      ],
      env: input.env,
    };
  },
  baseUrl: (input) => localUrl(input.host, input.port),
  healthPath: "/health",
  upstreamModel: (input) => input.name,
  failureHints: [
    {
      pattern: /No available memory for the cache blocks|KV cache/i,
      message:
        "not enough GPU memory for the KV cache: lower --max-model-len (context:) or raise --gpu-memory-utilization",
    },
    ...COMMON_FAILURE_HINTS,
  ],
  estimateMemory: reservedFraction("--gpu-memory-utilization", 0.9),
};
