import type { RuntimeAdapter } from "./types.ts";

/** An OpenAI-compatible server rig does not launch: it is only routed to and health-checked. */
export const remote: RuntimeAdapter = {
  kind: "remote",
  label: "an existing server at url:",
  requires: "url",
  modelKind: "tag",
  formats: [],
  example: { url: "http://host:8000/v1" },
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
