import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { llamaServer, tinyModel } from "./llama.ts";

export const SCRIPTED_UPSTREAM = fileURLToPath(new URL("./scripted-upstream.mjs", import.meta.url));

/** rig.yaml lines for the real llama-server: the runtime override plus one tiny server per name given. */
export async function tinyServers(servers: Record<string, string> = { tiny: "" }): Promise<string> {
  const model = await tinyModel();
  const lines = ["runtimes:", `  llama.cpp: { command: ${JSON.stringify(llamaServer())} }`, "servers:"];
  for (const [name, extra] of Object.entries(servers)) {
    lines.push(
      `  ${name}:`,
      "    runtime: llama.cpp",
      `    model: ${JSON.stringify(model)}`,
      "    context: 2048",
      "    args: [--n-predict, 64, --threads, 1, --parallel, 2]",
    );
    if (extra) lines.push(...extra.split("\n").map((line) => `    ${line}`));
  }
  return `${lines.join("\n")}\n`;
}

/** A server stanza that runs the scripted upstream through the `command` runtime. */
export function scriptedServer(name: string, env: Record<string, string> = {}, extra = ""): string {
  const lines = [
    `  ${name}:`,
    "    runtime: command",
    `    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(SCRIPTED_UPSTREAM)}, --port, "\${PORT}"]`,
    `    env: ${JSON.stringify(env)}`,
  ];
  if (extra) lines.push(...extra.split("\n").map((line) => `    ${line}`));
  return `${lines.join("\n")}\n`;
}

export function readRecord(path: string): Array<Record<string, unknown>> {
  try {
    return readFileSync(path, "utf8")
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

export interface PsRow {
  name: string;
  state: string;
  pid: number | null;
  port: number | null;
  uptime_s: number | null;
  ttl_left_s: number | null;
  runtime: string;
  requests: number;
}
