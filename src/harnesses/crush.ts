import { join } from "node:path";
import { agentKey, type HarnessAdapter, maxOutputTokens } from "./types.ts";

/**
 * Crush runs its config (`crushrc`, Bash with Crush's own commands) from the folder
 * CRUSH_GLOBAL_CONFIG names: rig writes one under state/ holding an OpenAI-compatible provider and
 * both model slots on the agent's model. The key stays in the environment (RIG_AGENT_KEY), not in the
 * file; a project's own `.crushrc` still applies on top.
 */
export const crush: HarnessAdapter = {
  name: "crush",
  label: "Crush",
  defaultCommand: ["crush"],
  dialect: "chat",
  launch(input) {
    const [command = "crush", ...prefix] = input.command;
    const quoted = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
    const model = quoted(`rig/${input.model}`);
    const output = maxOutputTokens(input.context);
    const crushrc = [
      "# Written by rig: the provider and models of this agent (rig run regenerates it).",
      `provider add rig --type openai-compat --name rig --base-url ${quoted(`${input.baseUrl}/v1`)} --api-key "$RIG_AGENT_KEY"`,
      `model add ${model} --name ${quoted(input.model)} --context-window ${input.context ?? 32_768} --default-max-tokens ${output}`,
      `model large ${model} --max-tokens ${output}`,
      `model small ${model} --max-tokens ${output}`,
      "option metrics false",
      "option provider-auto-update false",
      "",
    ].join("\n");
    return {
      command,
      args: prefix,
      env: {
        CRUSH_GLOBAL_CONFIG: input.stateDir,
        CRUSH_DISABLE_PROVIDER_AUTO_UPDATE: "1",
        RIG_AGENT_KEY: agentKey(input),
      },
      files: [{ path: join(input.stateDir, "crushrc"), content: crushrc }],
    };
  },
};
