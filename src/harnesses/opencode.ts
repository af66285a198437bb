import { agentKey, type HarnessAdapter, maxOutputTokens } from "./types.ts";

/** opencode takes a whole config from OPENCODE_CONFIG_CONTENT: an OpenAI-compatible provider pointed at rig. */
export const opencode: HarnessAdapter = {
  name: "opencode",
  label: "opencode",
  defaultCommand: ["opencode"],
  dialect: "chat",
  launch(input) {
    const [command = "opencode", ...prefix] = input.command;
    const config = {
      $schema: "https://opencode.ai/config.json",
      autoupdate: false,
      model: `rig/${input.model}`,
      provider: {
        rig: {
          npm: "@ai-sdk/openai-compatible",
          name: "rig",
          options: { baseURL: `${input.baseUrl}/v1`, apiKey: agentKey(input) },
          models: {
            [input.model]: {
              name: input.model,
              limit: { context: input.context ?? 32_768, output: maxOutputTokens(input.context) },
            },
          },
        },
      },
    };
    return {
      command,
      args: prefix,
      env: { OPENCODE_CONFIG_CONTENT: JSON.stringify(config), OPENCODE_DISABLE_AUTOUPDATE: "1" },
      files: [],
    };
  },
};
