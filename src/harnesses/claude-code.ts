import { agentKey, type HarnessAdapter, maxOutputTokens } from "./types.ts";

export const claudeCode: HarnessAdapter = {
  name: "claude-code",
  label: "Claude Code",
  defaultCommand: ["claude"],
  dialect: "messages",
  launch(input) {
    const [command = "claude", ...prefix] = input.command;
    return {
      command,
      args: prefix,
      env: {
        ANTHROPIC_BASE_URL: input.baseUrl,
        ANTHROPIC_AUTH_TOKEN: agentKey(input),
        ANTHROPIC_API_KEY: "",
        ANTHROPIC_MODEL: input.model,
        ANTHROPIC_SMALL_FAST_MODEL: input.model,
        ANTHROPIC_DEFAULT_HAIKU_MODEL: input.model,
        ANTHROPIC_DEFAULT_SONNET_MODEL: input.model,
        ANTHROPIC_DEFAULT_OPUS_MODEL: input.model,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        CLAUDE_CODE_ATTRIBUTION_HEADER: "0",
        DISABLE_AUTOUPDATER: "1",
        DISABLE_TELEMETRY: "1",
        API_TIMEOUT_MS: "3000000",
        CLAUDE_CODE_MAX_OUTPUT_TOKENS: String(maxOutputTokens(input.context)),
        ...(input.context ? { CLAUDE_CODE_AUTO_COMPACT_WINDOW: String(input.context) } : {}),
      },
      files: [],
    };
  },
};
