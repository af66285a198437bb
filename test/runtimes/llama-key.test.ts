import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../src/config/loader.ts";
import { redactSecrets } from "../../src/config/secrets.ts";
import { launchPlan } from "../../src/runtimes/plan.ts";

const config = await loadConfig({
  home: "/nonexistent/rig-runtime-key",
  env: { HOME: "/nonexistent" },
  text: `
servers:
  plain: { runtime: llama.cpp, model: /models/a.gguf, port: 8081 }
  own: { runtime: llama.cpp, model: /models/a.gguf, port: 8082, args: [--api-key, mine-0123456789] }
`,
});
const withKey = { ...config, runtimeKey: "home-key-0123456789" };

test("a llama.cpp server takes the home's runtime key, and rig's requests to it carry it", () => {
  const plan = launchPlan(withKey, withKey.servers.plain!);
  assert.equal(plan.process!.env.LLAMA_API_KEY, "home-key-0123456789");
  assert.deepEqual(plan.upstreamHeaders, { authorization: "Bearer home-key-0123456789" });
  assert.equal(
    redactSecrets(withKey, plan.process!.env).LLAMA_API_KEY,
    "<state/runtime.key>",
    "explain, history and the docs show where the key lives, never the key",
  );
});

test("a key the profile sets itself is the one llama-server takes and rig sends", () => {
  const plan = launchPlan(withKey, withKey.servers.own!);
  assert.equal(plan.process!.env.LLAMA_API_KEY, undefined);
  assert.deepEqual(plan.upstreamHeaders, { authorization: "Bearer mine-0123456789" });
});

test("before any daemon made the home's key, a server is planned without one", () => {
  const plan = launchPlan(config, config.servers.plain!);
  assert.equal(plan.process!.env.LLAMA_API_KEY, undefined);
  assert.deepEqual(plan.upstreamHeaders, {});
});
