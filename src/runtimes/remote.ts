import type { RuntimeAdapter } from "./types.ts";

/** An OpenAI-compatible server rig does not launch: it is only routed to and health-checked. */
export const remote: RuntimeAdapter = {
  kind: "remote",
  label: "an existing server at url:",
  modelKind: "tag",
  defaultCommand: [],
  detectable: false,
  dialects: ["chat", "completions", "embeddings"],
  defaultStartTimeoutMs: 30_000,
  process: () => null,
  baseUrl: (input) => (input.url ?? "").replace(/\/+$/, "").replace(/\/v1$/, ""),
  healthPath: "/v1/models",
  upstreamModel: (input) => input.model ?? input.name,
  failureHints: [],
};
