import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { agentBin } from "../../scripts/install-agents.mjs";
import { HARNESSES } from "../../src/harnesses/index.ts";
import { AGENT_PINS } from "../../src/install/agents.ts";

/** Where each agent ran: llama-server in its own dialects, llama-server translating, the chat-only upstream. */
export type Column = "native" | "forced" | "upstream";

export interface Outcome {
  ok: boolean;
  /** What was checked, or how it failed. */
  note: string;
}

const COLUMNS: Record<Column, string> = {
  native: "llama-server, runtime's own dialect",
  forced: "llama-server, `translate: always`",
  upstream: "chat-only upstream, shell tool round trip",
};

export const MATRIX_FILE = fileURLToPath(new URL("../../bench/results/agents.md", import.meta.url));

/**
 * Writes bench/results/agents.md from the outcomes of test/harnesses/real-agents.test.ts (keyed
 * `harness\0column`). Only a whole run is written: with a cell not run (a filtered run), the file is
 * left as it is. Nothing in it changes unless an outcome does (no timings, no dates).
 */
export function writeAgentMatrix(harnesses: string[], outcomes: Map<string, Outcome>): boolean {
  const rows: string[][] = [];
  const notRun: string[] = [];
  for (const harness of harnesses) {
    const pin = AGENT_PINS[harness]!;
    const label = `${HARNESSES[harness]!.label} (\`${harness}\`)`;
    const installed = existsSync(agentBin(harness));
    const cells: string[] = [];
    for (const column of Object.keys(COLUMNS) as Column[]) {
      const outcome = outcomes.get(`${harness}\u0000${column}`);
      if (!installed) cells.push("not run");
      else if (!outcome) return false;
      else cells.push(`${outcome.ok ? "✓" : "✗"} ${outcome.note}`);
    }
    if (!installed)
      notRun.push(
        `- ${label} is not installed where these tests ran${pin.downloads ? `: its install downloads ${pin.downloads}` : ""}.`,
      );
    rows.push([label, `${pin.package}@${pin.version}`, ...cells]);
  }
  const text = [
    "# Agents × upstreams",
    "",
    "Written by `test/harnesses/real-agents.test.ts` (part of `npm test`); do not edit by hand. Each pinned",
    "agent CLI runs headless through `rig run`: against the real llama-server serving the tiny model, in",
    "the runtime's own dialect and with translation forced (`exit 0` and a 200 in the gateway log), and",
    "against a scripted chat-only upstream whose model calls the agent's shell tool (the command runs, its",
    "output reaches the model in the next request, and that request starts with the previous one's",
    "messages, so a runtime's prompt cache keeps its prefix). In brackets: how the gateway carried the",
    "agent's dialect.",
    "",
    ...table(["agent", "package", ...Object.values(COLUMNS)], rows),
    ...(notRun.length ? ["", ...notRun] : []),
    "",
  ].join("\n");
  writeFileSync(MATRIX_FILE, text);
  return true;
}

/** A Markdown table laid out as the formatter (biome) lays it out: every column padded to its widest cell. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)];
}
