import { join } from "node:path";
import { agentKey, type HarnessAdapter, maxOutputTokens } from "./types.ts";

/**
 * Qwen Code takes its limits only from settings files. rig writes one under state/ and names it as
 * the system *defaults* file (QWEN_CODE_SYSTEM_DEFAULTS_PATH), the lowest layer: the user's own
 * ~/.qwen settings stay untouched and still win.
 */
export const qwenCode: HarnessAdapter = {
  name: "qwen-code",
  label: "Qwen Code",
  defaultCommand: ["qwen"],
  dialect: "chat",
  launch(input) {
    const [command = "qwen", ...prefix] = input.command;
    const settings = join(input.stateDir, "settings.json");
    const generationConfig = {
      ...(input.context ? { contextWindowSize: input.context } : {}),
      samplingParams: { max_tokens: maxOutputTokens(input.context) },
    };
    return {
      command,
      args: [...prefix, "--auth-type", "openai"],
      env: {
        OPENAI_BASE_URL: `${input.baseUrl}/v1`,
        OPENAI_API_KEY: agentKey(input),
        OPENAI_MODEL: input.model,
        QWEN_CODE_SYSTEM_DEFAULTS_PATH: settings,
      },
      files: [{ path: settings, content: `${JSON.stringify({ model: { generationConfig } }, null, 2)}\n` }],
    };
  },
};
