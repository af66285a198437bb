import { claudeCode } from "./claude-code.ts";
import { cline } from "./cline.ts";
import { codex } from "./codex.ts";
import { continueCli } from "./continue.ts";
import { copilot } from "./copilot.ts";
import { crush } from "./crush.ts";
import { geminiCli } from "./gemini-cli.ts";
import { kilo } from "./kilo.ts";
import { opencode } from "./opencode.ts";
import { pi } from "./pi.ts";
import { qwenCode } from "./qwen-code.ts";
import type { HarnessAdapter } from "./types.ts";

export const HARNESSES: Readonly<Record<string, HarnessAdapter>> = Object.fromEntries(
  [claudeCode, codex, qwenCode, pi, opencode, geminiCli, copilot, crush, cline, kilo, continueCli].map(
    (adapter) => [adapter.name, adapter],
  ),
);

export const HARNESS_NAMES = Object.keys(HARNESSES) as [string, ...string[]];

export function harnessFor(name: string): HarnessAdapter {
  const adapter = HARNESSES[name];
  if (!adapter) throw new Error(`unknown harness "${name}" (known: ${HARNESS_NAMES.join(", ")})`);
  return adapter;
}
