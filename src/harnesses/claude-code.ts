import type { HarnessAdapter } from "./types.ts";

export const claudeCode: HarnessAdapter = {
  name: "claude-code",
  label: "Claude Code",
  defaultCommand: ["claude"],
  dialect: "messages",
};
