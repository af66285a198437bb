import { agentKey, type HarnessAdapter, maxOutputTokens } from "./types.ts";

/**
 * GitHub Copilot CLI with its own model provider (BYOK), configured by environment alone: offline
 * mode needs no GitHub login and sends nothing to GitHub (no telemetry, no auto-update).
 */
export const copilot: HarnessAdapter = {
  name: "copilot",
  label: "GitHub Copilot CLI",
  defaultCommand: ["copilot"],
  dialect: "chat",
  launch(input) {
    const [command = "copilot", ...prefix] = input.command;
    const output = maxOutputTokens(input.context);
    return {
      command,
      args: prefix,
      env: {
        COPILOT_OFFLINE: "true",
        COPILOT_AUTO_UPDATE: "false",
        COPILOT_PROVIDER_TYPE: "openai",
        COPILOT_PROVIDER_WIRE_API: "completions",
        COPILOT_PROVIDER_BASE_URL: `${input.baseUrl}/v1`,
        COPILOT_PROVIDER_API_KEY: agentKey(input),
        COPILOT_MODEL: input.model,
        COPILOT_PROVIDER_MAX_OUTPUT_TOKENS: String(output),
        // The prompt and the answer share the window.
        ...(input.context
          ? { COPILOT_PROVIDER_MAX_PROMPT_TOKENS: String(Math.max(1024, input.context - output)) }
          : {}),
      },
      files: [],
    };
  },
};
