// The config and helpers the exchange-plan tests share: a stack of llama.cpp and MLX profiles, an
// agent, tool fixtures, and planExchange for a route by name.
import assert from "node:assert/strict";
import { type Config, loadConfig } from "../../src/config/loader.ts";
import type { Json } from "../../src/dialects/types.ts";
import { type ExchangePlan, planExchange } from "../../src/gateway/plan.ts";
import { ROUTES } from "../../src/gateway/routes.ts";

export const config: Config = await loadConfig({
  home: "/nonexistent/rig-plan-test",
  env: { HOME: "/nonexistent" },
  text: `
servers:
  llama:
    runtime: llama.cpp
    model: models/tiny.gguf
    aliases: [tiny]
    request:
      set: { max_tokens: 64 }
      drop: [reasoning_effort]
  strict:
    runtime: llama.cpp
    model: models/tiny.gguf
    translate: always
  mlx:
    runtime: mlx
    model: mlx-community/some-model
  closed:
    runtime: mlx
    model: mlx-community/some-model
    translate: never
agents:
  coder:
    harness: claude-code
    server: mlx
    request: { set: { max_tokens: 32, temperature: 0.1 } }
`,
});

export const tool = {
  name: "shell",
  description: "run",
  input_schema: { type: "object", properties: { cmd: { type: "string" } } },
};
export const chatTool = {
  type: "function",
  function: { name: "shell", parameters: { type: "object", properties: {} } },
};
export const messages = (extra: Json = {}): Json => ({
  max_tokens: 100,
  messages: [{ role: "user", content: "hi" }],
  ...extra,
});

export function plan(routeName: keyof typeof ROUTES, body: Json, agent?: string): ExchangePlan {
  return planExchange({
    route: ROUTES[routeName]!,
    body,
    config,
    agent: agent ? config.agents[agent] : undefined,
  });
}

export function expectKind<K extends ExchangePlan["kind"]>(
  result: ExchangePlan,
  kind: K,
): Extract<ExchangePlan, { kind: K }> {
  assert.equal(result.kind, kind, `expected ${kind}, got ${JSON.stringify(result).slice(0, 300)}`);
  return result as Extract<ExchangePlan, { kind: K }>;
}
