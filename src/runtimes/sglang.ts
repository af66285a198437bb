import { contextArgs, listenArgs, localUrl } from "./args.ts";
import { reservedFraction } from "./memory.ts";
import { COMMON_FAILURE_HINTS, type RuntimeAdapter } from "./types.ts";

export const sglang: RuntimeAdapter = {
  kind: "sglang",
  label: "SGLang (python -m sglang.launch_server)",
  requires: "model",
  modelKind: "path-or-id",
  formats: ["safetensors"],
  install: { hint: '`pip install "sglang[all]"` provides it' },
  example: { model: "path/or/id-of-your-model" },
  defaultCommand: ["python"],
  detectable: false,
  dialects: ["chat", "completions", "embeddings"],
  defaultStartTimeoutMs: 20 * 60_000,
  process(input) {
    const [executable = "python", ...prefix] = input.command ?? this.defaultCommand;
    return {
      argv: [
        executable,
        ...prefix,
        "-m",
        "sglang.launch_server",
        "--model-path",
        input.model ?? "",
        ...listenArgs(input, "--served-model-name"),
        ...contextArgs(input, "--context-length"),
        ...input.args,
      ],
      env: input.env,
    };
  },
  baseUrl: (input) => localUrl(input.host, input.port),
  healthPath: "/health",
  upstreamModel: (input) => input.name,
  failureHints: COMMON_FAILURE_HINTS,
  // SGLang picks its static fraction by GPU size when not told; 0.88 is what it takes on most cards.
  estimateMemory: reservedFraction("--mem-fraction-static", 0.88),
};
