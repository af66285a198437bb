import { opencodeConfig } from "./opencode-config.ts";
import type { HarnessAdapter } from "./types.ts";

/**
 * Kilo CLI, a fork of opencode, takes the same config from KILO_CONFIG_CONTENT; rig also keeps it from
 * fetching the models.dev catalogue (the agent's model is the one rig names).
 */
export const kilo: HarnessAdapter = {
  name: "kilo",
  label: "Kilo CLI",
  defaultCommand: ["kilo"],
  dialect: "chat",
  launch(input) {
    const [command = "kilo", ...prefix] = input.command;
    return {
      command,
      args: prefix,
      env: {
        KILO_CONFIG_CONTENT: opencodeConfig(input, "https://app.kilo.ai/config.json"),
        KILO_DISABLE_MODELS_FETCH: "1",
      },
      files: [],
    };
  },
};
