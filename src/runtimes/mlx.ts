import { localUrl } from "./args.ts";
import { estimateFromConfig } from "./memory.ts";
import { COMMON_FAILURE_HINTS, type RuntimeAdapter } from "./types.ts";

export const mlx: RuntimeAdapter = {
  kind: "mlx",
  label: "MLX mlx_lm.server (Apple silicon)",
  requires: "model",
  modelKind: "path-or-id",
  formats: ["mlx"],
  install: { hint: "`pip install mlx-lm` provides it" },
  example: { model: "path/or/id-of-your-model" },
  defaultCommand: ["mlx_lm.server"],
  detectable: true,
  dialects: ["chat", "completions"],
  defaultStartTimeoutMs: 10 * 60_000,
  process(input) {
    const [executable = "mlx_lm.server", ...prefix] = input.command ?? this.defaultCommand;
    return {
      argv: [
        executable,
        ...prefix,
        "--model",
        input.model ?? "",
        "--host",
        input.host,
        "--port",
        input.port,
        ...input.args,
      ],
      env: input.env,
    };
  },
  baseUrl: (input) => localUrl(input.host, input.port),
  healthPath: "/v1/models",
  upstreamModel: (input) => input.model ?? input.name,
  failureHints: COMMON_FAILURE_HINTS,
  estimateMemory: (input, model, _machine, context) =>
    estimateFromConfig(model, context ?? input.context, [
      "prompt caches (--prompt-cache-bytes) are not counted",
    ]),
};
