import { localUrl } from "./args.ts";
import { COMMON_FAILURE_HINTS, type RuntimeAdapter } from "./types.ts";

/**
 * Ollama serves many models from one shared `ollama serve`. rig reuses a running one (or starts it),
 * then pins the profile's tag in memory and unloads it on stop.
 */
export const ollama: RuntimeAdapter = {
  kind: "ollama",
  label: "Ollama (a model tag on ollama serve)",
  requires: "model",
  modelKind: "tag",
  formats: [],
  catalogName: (tag) => (tag.includes(":") ? tag : `${tag}:latest`),
  install: { hint: "https://ollama.com/download has it" },
  example: { model: "your-model:latest" },
  defaultCommand: ["ollama"],
  detectable: true,
  dialects: ["chat", "completions", "embeddings"],
  defaultStartTimeoutMs: 10 * 60_000,
  sharedProcess: true,
  process(input) {
    const [executable = "ollama", ...prefix] = input.command ?? this.defaultCommand;
    const context: Record<string, string> = input.context
      ? { OLLAMA_CONTEXT_LENGTH: String(input.context) }
      : {};
    return {
      argv: [executable, ...prefix, "serve", ...input.args],
      env: { OLLAMA_HOST: `${input.host}:${input.port}`, ...context, ...input.env },
    };
  },
  baseUrl: (input) => localUrl(input.host, input.port),
  healthPath: "/api/version",
  upstreamModel: (input) => input.model ?? input.name,
  afterReady: (input) => [
    { kind: "http", method: "POST", path: "/api/generate", body: { model: input.model, keep_alive: -1 } },
  ],
  beforeStop: (input) => [
    { kind: "http", method: "POST", path: "/api/generate", body: { model: input.model, keep_alive: 0 } },
  ],
  failureHints: [
    {
      pattern: /model .* not found|pull model manifest/i,
      message: "Ollama does not have this tag: run `ollama pull <tag>` or fix `model:`",
    },
    ...COMMON_FAILURE_HINTS,
  ],
};
