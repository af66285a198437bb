import { agentKey, type HarnessAdapter } from "./types.ts";

export const qwenCode: HarnessAdapter = {
  name: "qwen-code",
  label: "Qwen Code",
  defaultCommand: ["qwen"],
  dialect: "chat",
  launch(input) {
    const [command = "qwen", ...prefix] = input.command;
    return {
      command,
      args: [...prefix, "--auth-type", "openai"],
      env: {
        OPENAI_BASE_URL: `${input.baseUrl}/v1`,
        OPENAI_API_KEY: agentKey(input),
        OPENAI_MODEL: input.model,
      },
      files: [],
    };
  },
};
