import type { HarnessAdapter } from "./types.ts";

export const opencode: HarnessAdapter = {
  name: "opencode",
  label: "opencode",
  defaultCommand: ["opencode"],
  dialect: "chat",
};
