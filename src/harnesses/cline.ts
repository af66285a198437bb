import { join } from "node:path";
import { agentKey, type HarnessAdapter, maxOutputTokens } from "./types.ts";

/**
 * Cline CLI keeps its providers in `<config>/data/settings/providers.json`; rig writes one under
 * state/ and passes `--config` there, with the OpenAI-compatible provider selected. Cline's sessions
 * for this agent live there too, apart from the user's ~/.cline.
 */
export const cline: HarnessAdapter = {
  name: "cline",
  label: "Cline CLI",
  defaultCommand: ["cline"],
  dialect: "chat",
  launch(input) {
    const [command = "cline", ...prefix] = input.command;
    const provider = "openai-compatible";
    const providers = {
      version: 1,
      lastUsedProvider: provider,
      modes: {},
      providers: {
        [provider]: {
          settings: {
            provider,
            apiKey: agentKey(input),
            model: input.model,
            baseUrl: `${input.baseUrl}/v1`,
            maxTokens: maxOutputTokens(input.context),
            contextWindow: input.context ?? 32_768,
          },
          updatedAt: "1970-01-01T00:00:00.000Z",
          tokenSource: "manual",
        },
      },
    };
    return {
      command,
      args: [...prefix, "--config", input.stateDir, "--provider", provider, "--model", input.model],
      env: { CLINE_NO_AUTO_UPDATE: "1" },
      files: [
        {
          path: join(input.stateDir, "data", "settings", "providers.json"),
          content: `${JSON.stringify(providers, null, 2)}\n`,
          secret: input.apiKey !== undefined,
        },
      ],
    };
  },
};
