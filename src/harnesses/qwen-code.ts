import type { HarnessAdapter } from "./types.ts";

export const qwenCode: HarnessAdapter = {
  name: "qwen-code",
  label: "Qwen Code",
  defaultCommand: ["qwen"],
  dialect: "chat",
};
