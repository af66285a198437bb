import { join } from "node:path";
import { agentKey, type HarnessAdapter, maxOutputTokens } from "./types.ts";

/** Gemini CLI sizes every model it does not know at this many tokens, and compresses at a fraction of it. */
const GEMINI_CLI_TOKEN_LIMIT = 1_048_576;
/** The fraction of the window at which Gemini CLI compresses by default. */
const COMPRESS_AT = 0.5;

/**
 * Gemini CLI speaks Google's Gemini API to GOOGLE_GEMINI_BASE_URL. It takes its auth type and limits
 * only from settings files, and reads the system ones only when root owns them, so rig points
 * GEMINI_CLI_HOME (its home folder) at state/: the settings there are rig's, and the user's own
 * ~/.gemini (settings, trusted folders, history) is neither read nor written for this agent.
 */
export const geminiCli: HarnessAdapter = {
  name: "gemini-cli",
  label: "Gemini CLI",
  defaultCommand: ["gemini"],
  dialect: "gemini",
  launch(input) {
    const [command = "gemini", ...prefix] = input.command;
    const context = input.context;
    const settings = {
      security: { auth: { selectedType: "gemini-api-key" } },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      // The window is not a setting: the compression threshold, a fraction of the window Gemini CLI
      // assumes, is set so that it compresses at half of the profile's.
      ...(context
        ? { model: { compressionThreshold: Math.min(1, (COMPRESS_AT * context) / GEMINI_CLI_TOKEN_LIMIT) } }
        : {}),
      // An alias without a base: no Gemini sampling defaults, the server's (and rig.yaml's) apply.
      modelConfigs: {
        customAliases: {
          [input.model]: {
            modelConfig: {
              model: input.model,
              generateContentConfig: { maxOutputTokens: maxOutputTokens(context) },
            },
          },
        },
      },
    };
    return {
      command,
      args: [...prefix, "--model", input.model],
      env: {
        GEMINI_CLI_HOME: input.stateDir,
        GOOGLE_GEMINI_BASE_URL: input.baseUrl,
        GEMINI_API_KEY: agentKey(input),
      },
      files: [
        {
          path: join(input.stateDir, ".gemini", "settings.json"),
          content: `${JSON.stringify(settings, null, 2)}\n`,
        },
      ],
    };
  },
};
