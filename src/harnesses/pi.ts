import { join } from "node:path";
import { agentKey, type HarnessAdapter, maxOutputTokens } from "./types.ts";

/**
 * Pi reads its providers from models.json in its agent folder: rig writes one under state/ and points
 * PI_CODING_AGENT_DIR at it, so the user's own ~/.pi stays untouched.
 */
export const pi: HarnessAdapter = {
  name: "pi",
  label: "Pi coding agent",
  defaultCommand: ["pi"],
  dialect: "chat",
  launch(input) {
    const [command = "pi", ...prefix] = input.command;
    const models = {
      providers: {
        rig: {
          baseUrl: `${input.baseUrl}/v1`,
          api: "openai-completions",
          apiKey: agentKey(input),
          models: [
            {
              id: input.model,
              name: input.model,
              contextWindow: input.context ?? 32_768,
              maxTokens: maxOutputTokens(input.context),
            },
          ],
        },
      },
    };
    return {
      command,
      args: [...prefix, "--provider", "rig", "--model", input.model],
      env: { PI_CODING_AGENT_DIR: input.stateDir },
      files: [
        {
          path: join(input.stateDir, "models.json"),
          content: `${JSON.stringify(models, null, 2)}\n`,
          secret: input.apiKey !== undefined,
        },
      ],
    };
  },
};
