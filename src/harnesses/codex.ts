import type { HarnessAdapter } from "./types.ts";

export const codex: HarnessAdapter = {
  name: "codex",
  label: "OpenAI Codex CLI",
  defaultCommand: ["codex"],
  dialect: "responses",
};
