// The exchange plan for Gemini routes, in-process: the model and streaming come from the path.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Json } from "../../src/dialects/types.ts";
import { type ExchangePlan, planExchange } from "../../src/gateway/plan.ts";
import { matchRoute, type Route } from "../../src/gateway/routes.ts";
import { config, expectKind } from "../support/exchange-plan.ts";

describe("Gemini routes: the model and streaming come from the path", () => {
  const contents = [{ role: "user", parts: [{ text: "hi" }] }];
  const gemini = (path: string, body: Json, agent?: string): ExchangePlan => {
    const match = matchRoute("POST", agent ? `/agents/${agent}${path}` : path, config);
    assert.equal(match.kind, "exchange", JSON.stringify(match));
    return planExchange({
      route: (match as { route: Route }).route,
      body,
      config,
      agent: config.agents[agent ?? ""],
    });
  };

  test("generateContent, streamGenerateContent and countTokens route by the path's model, in Google's error dialect", () => {
    const match = matchRoute("POST", "/v1beta/models/llama:streamGenerateContent", config);
    assert.equal(match.kind, "exchange");
    assert.equal(match.kind === "exchange" && match.dialect, "google");
    assert.deepEqual(match.kind === "exchange" && match.route, {
      path: "/v1beta/models/llama:streamGenerateContent",
      dialect: "gemini",
      name: "stream_generate_content",
      stream: true,
      model: "llama",
    });
    const tagged = matchRoute("POST", "/v1beta/models/models%2Fllama3:8b:generateContent", config);
    assert.equal(
      tagged.kind === "exchange" && tagged.route.model,
      "llama3:8b",
      "a tag's colon stays in the name",
    );
    assert.deepEqual(matchRoute("GET", "/v1beta/models", config), {
      kind: "models",
      agent: undefined,
      listing: "gemini",
    });
    const pinned = matchRoute("GET", "/agents/coder/v1beta/models", config);
    assert.equal(pinned.kind === "models" && pinned.agent?.name, "coder");
  });

  test("an unknown method, a GET, an unknown agent: refused in Google's error dialect", () => {
    for (const [method, path, status] of [
      ["POST", "/v1beta/models/llama:embedContent", 404],
      ["GET", "/v1beta/models/llama:generateContent", 405],
      ["POST", "/agents/codr/v1beta/models/x:generateContent", 404],
    ] as const) {
      const refused = matchRoute(method, path, config);
      assert.equal(refused.kind, "refuse", path);
      assert.equal(refused.kind === "refuse" && refused.status, status, path);
      assert.equal(refused.kind === "refuse" && refused.dialect, "google", path);
    }
  });

  test("a request is translated to Chat for the path's server, streaming by the method, the server's rules applied", () => {
    const whole = expectKind(gemini("/v1beta/models/tiny:generateContent", { contents }), "translated");
    assert.equal(whole.server.name, "llama");
    assert.equal(whole.stream, false);
    assert.equal(whole.payload.max_tokens, 64);
    assert.deepEqual(whole.payload.messages, [{ role: "user", content: "hi" }]);
    const streamed = expectKind(
      gemini("/v1beta/models/llama:streamGenerateContent", { contents }),
      "translated",
    );
    assert.equal(streamed.stream, true);
    assert.equal(streamed.translation.translator.dialect, "gemini");
    assert.equal(streamed.translation.context.model, "llama", "the answer names the model the path named");
  });

  test("an agent's route serves its server whatever model the path names", () => {
    const pinned = expectKind(
      gemini("/v1beta/models/gemini-2.5-pro:generateContent", { contents }, "coder"),
      "translated",
    );
    assert.equal(pinned.server.name, "mlx");
    assert.equal(pinned.payload.max_tokens, 32, "the agent's rules apply after the server's");
  });

  test("an unknown model is a 404 naming the served ones; a malformed body a 400 in Google's words", () => {
    const unknown = expectKind(
      gemini("/v1beta/models/gemini-2.5-pro:generateContent", { contents }),
      "refuse",
    );
    assert.equal(unknown.status, 404);
    assert.match(unknown.message, /unknown model `gemini-2\.5-pro`/);
    const invalid = expectKind(gemini("/v1beta/models/llama:generateContent", { contents: [] }), "refuse");
    assert.equal(invalid.status, 400);
    assert.equal(invalid.message, "* GenerateContentRequest.contents: contents is not specified");
  });

  test("countTokens is answered by rig's estimate; a required function call on llama.cpp is enforced", () => {
    const counted = expectKind(gemini("/v1beta/models/llama:countTokens", { contents }), "local");
    assert.ok(Number(counted.body.totalTokens) > 0);
    const forced = expectKind(
      gemini("/v1beta/models/llama:generateContent", {
        contents,
        tools: [{ functionDeclarations: [{ name: "shell", parameters: { type: "OBJECT" } }] }],
        toolConfig: { functionCallingConfig: { mode: "ANY" } },
      }),
      "forced",
    );
    assert.equal(forced.translation?.translator.dialect, "gemini");
    assert.equal(forced.payload.tool_choice, "required");
  });
});
