import { agentKey, type HarnessInput, maxOutputTokens } from "./types.ts";

/**
 * The config opencode and its fork Kilo read from an environment variable: an OpenAI-compatible
 * provider named rig (through the AI SDK) with the agent's model and limits, auto-update off.
 */
export function opencodeConfig(input: HarnessInput, schema: string): string {
  return JSON.stringify({
    $schema: schema,
    autoupdate: false,
    model: `rig/${input.model}`,
    provider: {
      rig: {
        npm: "@ai-sdk/openai-compatible",
        name: "rig",
        options: { baseURL: `${input.baseUrl}/v1`, apiKey: agentKey(input) },
        models: {
          [input.model]: {
            name: input.model,
            limit: { context: input.context ?? 32_768, output: maxOutputTokens(input.context) },
          },
        },
      },
    },
  });
}
