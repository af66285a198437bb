import type { HarnessAdapter } from "./types.ts";

export const pi: HarnessAdapter = {
  name: "pi",
  label: "Pi coding agent",
  defaultCommand: ["pi"],
  dialect: "chat",
};
