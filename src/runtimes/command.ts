import { localUrl } from "./args.ts";
import { COMMON_FAILURE_HINTS, type RuntimeAdapter } from "./types.ts";

/** Any OpenAI-compatible server started from an argv with ${PORT}, ${HOST} and ${MODEL} substituted. */
export const command: RuntimeAdapter = {
  kind: "command",
  label: "any command (argv with ${PORT} ${HOST} ${MODEL})",
  requires: "command",
  modelKind: "path-or-id",
  formats: [],
  example: {
    command: ["your-server", "--port", "${PORT}", "--model", "${MODEL}"],
    model: "path/or/id-of-your-model",
  },
  defaultCommand: [],
  detectable: false,
  dialects: ["chat", "completions", "embeddings"],
  defaultStartTimeoutMs: 10 * 60_000,
  process(input) {
    const values: Record<string, string> = { PORT: input.port, HOST: input.host, MODEL: input.model ?? "" };
    const substitute = (arg: string) =>
      arg.replace(/\$\{(PORT|HOST|MODEL)\}/g, (_, key: string) => values[key]!);
    return { argv: [...(input.command ?? []), ...input.args].map(substitute), env: input.env };
  },
  baseUrl: (input) => localUrl(input.host, input.port),
  healthPath: "/v1/models",
  upstreamModel: (input) => input.model ?? input.name,
  failureHints: COMMON_FAILURE_HINTS,
};
