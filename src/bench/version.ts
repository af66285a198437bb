import { outputOf } from "../system/process.ts";

type Json = Record<string, unknown>;

/**
 * Where OpenAI-compatible runtimes report their own version, and the field that holds it: llama-server's
 * `/props` (build_info), vLLM's `/version`, Ollama's `/api/version`, SGLang's `/get_server_info`.
 * Tried in turn on the running server, so no runtime is named here.
 */
const VERSION_ROUTES: Array<[path: string, field: string]> = [
  ["/props", "build_info"],
  ["/version", "version"],
  ["/api/version", "version"],
  ["/get_server_info", "version"],
];

async function reported(baseUrl: string, headers: Record<string, string>): Promise<string | undefined> {
  for (const [path, field] of VERSION_ROUTES) {
    try {
      const response = await fetch(baseUrl + path, { headers, signal: AbortSignal.timeout(2000) });
      if (!response.ok) continue;
      const value = ((await response.json()) as Json)[field];
      if (typeof value === "string" && value) return value;
    } catch {}
  }
  return undefined;
}

/** What `<executable> --version` prints (first two lines), when the executable answers it. */
async function printed(executable: string): Promise<string | undefined> {
  const output = await outputOf(executable, ["--version"], 5000, { withStderr: true });
  const lines = (output ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.length ? lines.slice(0, 2).join("; ") : undefined;
}

/**
 * The runtime's version as the running server reports it. The executable's `--version` (when rig
 * launched one) is asked only when the server says nothing or a build of unknown commit (llama-server
 * built from a source bundle reports `b0-unknown`, yet prints its version line and compiler): a
 * launcher such as `python -m …` or `node script.mjs` would answer with its own version instead.
 */
export async function runtimeVersion(
  baseUrl: string,
  options: { executable?: string; headers?: Record<string, string> } = {},
): Promise<string | null> {
  const { executable, headers = {} } = options;
  const server = await reported(baseUrl, headers);
  if (server && !/unknown/i.test(server)) return server;
  const command = executable ? await printed(executable) : undefined;
  return [server, command].filter(Boolean).join("; ") || null;
}
