import { contextArgs, localUrl } from "./args.ts";
import { estimateLlamaServer } from "./llama-cpp-memory.ts";
import { estimateFromConfig } from "./memory.ts";
import { COMMON_FAILURE_HINTS, type RuntimeAdapter } from "./types.ts";

/** LM Studio's server is a daemon driven by `lms`: start it, load the model under the profile's name, unload on stop. */
export const lmstudio: RuntimeAdapter = {
  kind: "lmstudio",
  label: "LM Studio (lms)",
  requires: "model",
  modelKind: "path-or-id",
  formats: ["gguf", "mlx"],
  install: { hint: "LM Studio (https://lmstudio.ai) ships it" },
  example: { model: "path/or/id-of-your-model" },
  defaultCommand: ["lms"],
  detectable: true,
  dialects: ["chat", "completions", "embeddings"],
  defaultStartTimeoutMs: 10 * 60_000,
  sharedProcess: true,
  process: () => null,
  prepare(input) {
    const [executable = "lms", ...prefix] = input.command ?? this.defaultCommand;
    return [{ kind: "command", argv: [executable, ...prefix, "server", "start", "--port", input.port] }];
  },
  baseUrl: (input) => localUrl(input.host, input.port),
  healthPath: "/v1/models",
  upstreamModel: (input) => input.name,
  afterReady(input) {
    const [executable = "lms", ...prefix] = input.command ?? this.defaultCommand;
    return [
      {
        kind: "command",
        argv: [
          executable,
          ...prefix,
          "load",
          input.model ?? "",
          "--identifier",
          input.name,
          "-y",
          ...contextArgs(input, "--context-length"),
          ...input.args,
        ],
      },
    ];
  },
  beforeStop(input) {
    const [executable = "lms", ...prefix] = input.command ?? this.defaultCommand;
    return [{ kind: "command", argv: [executable, ...prefix, "unload", input.name] }];
  },
  failureHints: COMMON_FAILURE_HINTS,
  // LM Studio runs GGUF on its llama.cpp engine and MLX folders on MLX, with their defaults; `lms load`
  // flags are its own, so only the context carries over.
  estimateMemory(input, model, machine, context) {
    const asked = context ?? input.context;
    const notes = [
      "LM Studio's own load settings (GPU offload, KV type) are not read: llama.cpp's defaults assumed",
    ];
    if (model?.format === "gguf") {
      const estimate = estimateLlamaServer({ ...input, args: [] }, model, machine, asked);
      return estimate && { ...estimate, notes: [...notes, ...estimate.notes] };
    }
    return estimateFromConfig(model, asked, notes);
  },
};
