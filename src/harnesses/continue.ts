import { join } from "node:path";
import { agentKey, type HarnessAdapter, maxOutputTokens } from "./types.ts";

/**
 * Continue CLI (`cn`) takes a whole assistant config with `--config`: rig writes one under state/
 * with one OpenAI-compatible model, its window and output limit. (JSON is YAML: the file is JSON.)
 */
export const continueCli: HarnessAdapter = {
  name: "continue",
  label: "Continue CLI",
  defaultCommand: ["cn"],
  dialect: "chat",
  launch(input) {
    const [command = "cn", ...prefix] = input.command;
    const path = join(input.stateDir, "config.yaml");
    const config = {
      name: `rig ${input.agent}`,
      version: "1.0.0",
      schema: "v1",
      models: [
        {
          name: input.model,
          provider: "openai",
          model: input.model,
          apiBase: `${input.baseUrl}/v1`,
          apiKey: agentKey(input),
          roles: ["chat", "edit", "apply"],
          capabilities: ["tool_use"],
          defaultCompletionOptions: {
            contextLength: input.context ?? 32_768,
            maxTokens: maxOutputTokens(input.context),
          },
        },
      ],
    };
    return {
      command,
      args: [...prefix, "--config", path],
      env: { CONTINUE_CLI_ENABLE_TELEMETRY: "0" },
      files: [{ path, content: `${JSON.stringify(config, null, 2)}\n`, secret: input.apiKey !== undefined }],
    };
  },
};
