import { contextArgs, listenArgs, localUrl } from "./args.ts";
import { estimateLlamaServer, llamaServerMemory } from "./llama-cpp-memory.ts";
import { llamaCppToolChoice } from "./llama-cpp-tools.ts";
import { COMMON_FAILURE_HINTS, type RuntimeAdapter } from "./types.ts";

export const llamaCpp: RuntimeAdapter = {
  kind: "llama.cpp",
  label: "llama.cpp llama-server (GGUF)",
  requires: "model",
  modelKind: "path",
  formats: ["gguf"],
  install: { hint: "`rig install llama.cpp` builds it", rigBuild: "llama-server" },
  example: { model: "models/your-model.gguf", args: ["--flash-attn", "on", "--n-gpu-layers", 99] },
  defaultCommand: ["llama-server"],
  detectable: true,
  dialects: ["chat", "completions", "embeddings", "messages", "responses"],
  defaultStartTimeoutMs: 10 * 60_000,
  acrossHosts: "rpc",
  process(input) {
    const [executable = "llama-server", ...prefix] = input.command ?? this.defaultCommand;
    return {
      argv: [
        executable,
        ...prefix,
        "-m",
        input.model ?? "",
        ...listenArgs(input),
        ...contextArgs(input, "--ctx-size", "-c"),
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
      pattern: /failed to load model|error loading model/i,
      message: "llama-server could not load the model file: is it a complete GGUF file?",
    },
    ...COMMON_FAILURE_HINTS,
  ],
  forceToolChoice: llamaCppToolChoice,
  estimateMemory: estimateLlamaServer,
  memoryInLog: llamaServerMemory,
};
