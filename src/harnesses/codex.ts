import { agentKey, type HarnessAdapter } from "./types.ts";

/** Codex is configured with `-c` overrides only: the user's ~/.codex/config.toml is never touched. */
export const codex: HarnessAdapter = {
  name: "codex",
  label: "OpenAI Codex CLI",
  defaultCommand: ["codex"],
  dialect: "responses",
  launch(input) {
    const [command = "codex", ...prefix] = input.command;
    const toml = (value: string) => JSON.stringify(value);
    const overrides = [
      `model_providers.rig.name=${toml("rig")}`,
      `model_providers.rig.base_url=${toml(`${input.baseUrl}/v1`)}`,
      `model_providers.rig.wire_api=${toml("responses")}`,
      `model_providers.rig.env_key=${toml("RIG_AGENT_KEY")}`,
      `model_provider=${toml("rig")}`,
      `model=${toml(input.model)}`,
      ...(input.context ? [`model_context_window=${input.context}`] : []),
    ];
    return {
      command,
      args: [...prefix, ...overrides.flatMap((override) => ["-c", override])],
      env: { RIG_AGENT_KEY: agentKey(input) },
      files: [],
    };
  },
};
