import { hasFlag, localUrl } from "./args.ts";
import { COMMON_FAILURE_HINTS, type RuntimeAdapter } from "./types.ts";

export const llamaCpp: RuntimeAdapter = {
  kind: "llama.cpp",
  label: "llama.cpp llama-server (GGUF)",
  modelKind: "path",
  defaultCommand: ["llama-server"],
  detectable: true,
  dialects: ["chat", "completions", "embeddings", "messages", "responses"],
  defaultStartTimeoutMs: 10 * 60_000,
  process(input) {
    const [executable = "llama-server", ...prefix] = input.command ?? this.defaultCommand;
    const context =
      input.context && !hasFlag(input.args, "-c", "--ctx-size") ? ["--ctx-size", String(input.context)] : [];
    return {
      argv: [
        executable,
        ...prefix,
        "-m",
        input.model ?? "",
        "--host",
        input.host,
        "--port",
        input.port,
        ...context,
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
};
