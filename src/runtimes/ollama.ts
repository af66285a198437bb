import { localUrl } from "./args.ts";
import { COMMON_FAILURE_HINTS, type RuntimeAdapter } from "./types.ts";

/** `llama3` is `llama3:latest`: Ollama's own reading of a tag. */
const ollamaTag = (tag: string) => (tag.includes(":") ? tag : `${tag}:latest`);

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
  catalogName: ollamaTag,
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
  // Ollama sizes a model itself when it loads it; /api/ps then says what it took and how much is on the GPU.
  memoryProbe: {
    path: "/api/ps",
    read(body, model) {
      const loaded = (
        body as { models?: Array<{ name?: string; model?: string; size?: number; size_vram?: number }> }
      )?.models;
      const tag = model === undefined ? undefined : ollamaTag(model);
      const entry = loaded?.find((candidate) =>
        [candidate.name, candidate.model].some((name) => name && ollamaTag(name) === tag),
      );
      if (!entry || typeof entry.size !== "number") return undefined;
      const accelerator = entry.size_vram ?? 0;
      return { accelerator, host: Math.max(0, entry.size - accelerator), source: "ollama /api/ps" };
    },
  },
};
