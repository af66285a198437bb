// The exchange plan for a peer's model and a server's fallback chain, in-process.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Config, loadConfig } from "../../src/config/loader.ts";
import type { Json } from "../../src/dialects/types.ts";
import { planExchange, requestedName } from "../../src/gateway/plan.ts";
import { matchRoute, ROUTES, type Route } from "../../src/gateway/routes.ts";
import { fallbackChain } from "../../src/peers/hop.ts";
import { chatTool, messages } from "../support/exchange-plan.ts";

describe("the plan for a peer's model", async () => {
  const withPeers: Config = await loadConfig({
    home: "/nonexistent/rig-plan-peer-test",
    env: { HOME: "/nonexistent", BOX_KEY: "k" },
    text: `
peers:
  box: { url: "http://box:7878", api_key: "\${env:BOX_KEY}", timeout: 20s }
servers:
  llama: { runtime: llama.cpp, model: models/tiny.gguf, fallback: [box/org/big, mlx, box/org/big] }
  mlx: { runtime: mlx, model: mlx-community/some-model }
agents:
  far: { harness: claude-code, server: box/org/big }
`,
  });
  const peerPlan = (routeName: keyof typeof ROUTES, body: Json, kind?: "rig" | "openai", extra = {}) =>
    planExchange({
      route: ROUTES[routeName]!,
      body,
      config: withPeers,
      peerKind: () => kind,
      ...extra,
    });

  test("a rig gateway peer takes Messages as it is, with the model as the peer names it", () => {
    const plan = peerPlan("/v1/messages", { model: "box/org/big", ...messages() }, "rig");
    assert.equal(plan.kind, "native");
    if (plan.kind !== "native") return;
    assert.equal(plan.upstreamPath, "/v1/messages");
    assert.equal(plan.peer?.model, "org/big", "the model keeps its own slashes");
    assert.equal(plan.peer?.peer.name, "box");
    assert.equal(plan.server.name, "box/org/big", "recorded and shown as the client named it");
    assert.equal(plan.server.responseTimeoutMs, 20_000, "the peer's timeout bounds the wait");
  });

  test("a plain or not yet listed peer gets Chat: rig translates here, as for runtime: remote", () => {
    for (const kind of ["openai", undefined] as const) {
      const plan = peerPlan("/v1/messages", { model: "box/org/big", ...messages() }, kind);
      assert.equal(plan.kind, "translated", String(kind));
      if (plan.kind === "translated") assert.equal(plan.peer?.model, "org/big");
    }
    const chat = peerPlan("/v1/chat/completions", { model: "box/x", messages: [] }, "openai");
    assert.equal(chat.kind, "native");
  });

  test("a required tool call goes to the peer as asked: its own runtime enforces it", () => {
    const plan = peerPlan(
      "/v1/chat/completions",
      {
        model: "box/x",
        messages: [{ role: "user", content: "hi" }],
        tools: [chatTool],
        tool_choice: "required",
      },
      "rig",
    );
    assert.equal(plan.kind, "native");
  });

  test("an agent pinned to a peer's model routes there whatever model the harness sends", () => {
    const plan = peerPlan("/v1/messages", { model: "claude-sonnet", ...messages() }, "rig", {
      agent: withPeers.agents.far,
    });
    assert.equal(plan.kind, "native");
    if (plan.kind === "native") assert.equal(plan.peer?.model, "org/big");
  });

  test("a fallback target is planned in place of the body's model; an unknown model names the peers", () => {
    const plan = peerPlan("/v1/chat/completions", { model: "llama", messages: [] }, "rig", { target: "mlx" });
    assert.equal(plan.kind === "refuse" ? plan.message : plan.server.name, "mlx");
    const unknown = peerPlan("/v1/chat/completions", { model: "nobody/x", messages: [] });
    assert.equal(unknown.kind, "refuse");
    if (unknown.kind === "refuse") assert.match(unknown.message, /box\/<model>/);
  });

  test("the fallback chain is the server, then its own list, each once; a peer's model has none", () => {
    assert.deepEqual(fallbackChain(withPeers.servers.llama!), ["llama", "box/org/big", "mlx"]);
    assert.deepEqual(fallbackChain(withPeers.servers.mlx!), ["mlx"]);
  });
  test("a Gemini request names its model in the path: that is the name a peer is listed for on demand", () => {
    const match = matchRoute("POST", "/v1beta/models/box:generateContent", withPeers);
    assert.equal(match.kind, "exchange", JSON.stringify(match));
    const route = (match as { route: Route }).route;
    assert.equal(requestedName({ route, body: {}, config: withPeers }), "box");
  });
});
