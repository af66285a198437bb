import { opencodeConfig } from "./opencode-config.ts";
import type { HarnessAdapter } from "./types.ts";

/** opencode takes a whole config from OPENCODE_CONFIG_CONTENT: an OpenAI-compatible provider pointed at rig. */
export const opencode: HarnessAdapter = {
  name: "opencode",
  label: "opencode",
  defaultCommand: ["opencode"],
  dialect: "chat",
  launch(input) {
    const [command = "opencode", ...prefix] = input.command;
    return {
      command,
      args: prefix,
      env: {
        OPENCODE_CONFIG_CONTENT: opencodeConfig(input, "https://opencode.ai/config.json"),
        OPENCODE_DISABLE_AUTOUPDATE: "1",
      },
      files: [],
    };
  },
};
