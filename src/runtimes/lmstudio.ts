import { contextArgs, localUrl } from "./args.ts";
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
};
