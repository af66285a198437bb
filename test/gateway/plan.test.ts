// The exchange plan, in-process: every route × native / translated / forced / local, and the
// refusals, decided from the request and the config alone (no server, no build).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseJsonBody } from "../../src/gateway/plan.ts";
import { matchRoute } from "../../src/gateway/routes.ts";
import { chatTool, config, expectKind, messages, plan, tool } from "../support/exchange-plan.ts";

describe("exchange plan: native", () => {
  for (const route of ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"] as const) {
    for (const server of ["llama", "mlx", "closed"]) {
      if (route === "/v1/embeddings" && server !== "llama") continue;
      test(`${route} on ${server} passes through to the same path`, () => {
        const native = expectKind(
          plan(route, { model: server, input: "x", prompt: "x", messages: [] }),
          "native",
        );
        assert.equal(native.upstreamPath, route);
        assert.equal(native.server.name, server);
      });
    }
  }

  test("Messages on llama.cpp (which speaks it) pass through, without Claude Code's per-turn billing header", () => {
    const body = messages({
      model: "llama",
      system: [
        { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.0; cch=abc;" },
        { type: "text", text: "be brief" },
      ],
    });
    const native = expectKind(plan("/v1/messages", body), "native");
    assert.equal(native.upstreamPath, "/v1/messages");
    assert.deepEqual(native.payload.system, [{ type: "text", text: "be brief" }]);
    assert.equal(native.payload.max_tokens, 64, "the server's `set` rule wins over the client");
  });

  test("Responses and count_tokens on llama.cpp pass through", () => {
    expectKind(plan("/v1/responses", { model: "llama", input: "hi" }), "native");
    const counted = expectKind(plan("/v1/messages/count_tokens", messages({ model: "llama" })), "native");
    assert.equal(counted.upstreamPath, "/v1/messages/count_tokens");
  });

  test("a Codex warm-up (empty input) to a runtime that speaks Responses reaches the runtime", () => {
    expectKind(plan("/v1/responses", { model: "llama", input: [] }), "native");
  });

  test("a server's rules apply, and the model is addressed by alias", () => {
    const native = expectKind(
      plan("/v1/chat/completions", {
        model: "tiny",
        messages: [],
        reasoning_effort: "high",
        max_tokens: 999,
      }),
      "native",
    );
    assert.equal(native.server.name, "llama");
    assert.equal(native.payload.max_tokens, 64);
    assert.equal("reasoning_effort" in native.payload, false);
  });
});

describe("exchange plan: translated", () => {
  test("Messages to a Chat-only runtime become a Chat request, streaming kept", () => {
    const translated = expectKind(
      plan("/v1/messages", messages({ model: "mlx", stream: true })),
      "translated",
    );
    assert.equal(translated.translation.translator.dialect, "messages");
    assert.deepEqual(translated.payload.messages, [{ role: "user", content: "hi" }]);
    assert.equal(translated.stream, true);
    assert.equal(translated.payload.stream, true);
  });

  test("Responses to a Chat-only runtime become a Chat request", () => {
    const translated = expectKind(plan("/v1/responses", { model: "mlx", input: "hello" }), "translated");
    assert.equal(translated.translation.translator.dialect, "responses");
    assert.equal(translated.stream, false);
  });

  test("translate: always translates Messages even where the runtime speaks it; Chat still passes through", () => {
    expectKind(plan("/v1/messages", messages({ model: "strict" })), "translated");
    expectKind(plan("/v1/chat/completions", { model: "strict", messages: [] }), "native");
  });

  test("an agent's route pins its server whatever model is named, its rules applied after the server's", () => {
    const translated = expectKind(
      plan("/v1/messages", messages({ model: "claude-sonnet-4", max_tokens: 4000 }), "coder"),
      "translated",
    );
    assert.equal(translated.server.name, "mlx");
    assert.equal(translated.payload.max_tokens, 32);
    assert.equal(translated.payload.temperature, 0.1);
  });
});

describe("exchange plan: forced tool calls", () => {
  test("Chat requiring a call on llama.cpp is enforced by rig", () => {
    const forced = expectKind(
      plan("/v1/chat/completions", {
        model: "llama",
        messages: [{ role: "user", content: "x" }],
        tools: [chatTool],
        tool_choice: "required",
      }),
      "forced",
    );
    assert.equal(forced.translation, undefined);
    assert.ok(forced.forcer.templateRequest(forced.payload).path.length > 0);
  });

  test("Messages requiring a tool on llama.cpp go through Chat for the enforcement (its native endpoint ignores it)", () => {
    const forced = expectKind(
      plan("/v1/messages", messages({ model: "llama", tools: [tool], tool_choice: { type: "any" } })),
      "forced",
    );
    assert.equal(forced.translation?.translator.dialect, "messages");
    assert.ok(Array.isArray(forced.payload.tools));
  });

  test("Responses requiring a call on llama.cpp are enforced", () => {
    const forced = expectKind(
      plan("/v1/responses", {
        model: "llama",
        input: "x",
        tools: [{ type: "function", name: "shell", parameters: {} }],
        tool_choice: "required",
      }),
      "forced",
    );
    assert.equal(forced.translation?.translator.dialect, "responses");
  });

  test("tool_choice auto stays native; a runtime without enforcement relays `required` as is", () => {
    expectKind(
      plan("/v1/messages", messages({ model: "llama", tools: [tool], tool_choice: { type: "auto" } })),
      "native",
    );
    expectKind(
      plan("/v1/chat/completions", {
        model: "mlx",
        messages: [],
        tools: [chatTool],
        tool_choice: "required",
      }),
      "native",
    );
  });
});

describe("exchange plan: answered locally", () => {
  test("count_tokens for a runtime that cannot count is estimated by rig", () => {
    const local = expectKind(plan("/v1/messages/count_tokens", messages({ model: "mlx" })), "local");
    assert.equal(typeof local.body.input_tokens, "number");
    assert.ok((local.body.input_tokens as number) > 0);
  });

  test("a Codex warm-up to a translated runtime is answered without waking the model", () => {
    const local = expectKind(
      plan("/v1/responses", { model: "mlx", input: [], stream: true }),
      "local-events",
    );
    assert.equal(local.stream, true);
    assert.deepEqual(local.events, [{ type: "finish", reason: "stop" }]);
  });
});

describe("exchange plan: refusals in the caller's terms", () => {
  test("no model: 400 naming the servers", () => {
    const refused = expectKind(plan("/v1/chat/completions", { messages: [] }), "refuse");
    assert.equal(refused.status, 400);
    assert.match(refused.message, /has no "model".*llama/);
  });

  test("an unknown model: 404 with the nearest name", () => {
    const refused = expectKind(plan("/v1/chat/completions", { model: "lama", messages: [] }), "refuse");
    assert.equal(refused.status, 404);
    assert.match(refused.message, /did you mean `llama`/);
  });

  test("a dialect the runtime does not speak and rig does not translate: 501", () => {
    const refused = expectKind(plan("/v1/embeddings", { model: "mlx", input: "x" }), "refuse");
    assert.equal(refused.status, 501);
    assert.equal(refused.server?.name, "mlx");
    assert.match(refused.message, /does not speak embeddings/);
  });

  test("translate: never sends the client's dialect as is, and the runtime answers for itself", () => {
    const native = expectKind(plan("/v1/messages", messages({ model: "closed" })), "native");
    assert.equal(native.upstreamPath, "/v1/messages");
  });

  test("a body that is not a JSON object", () => {
    assert.deepEqual(parseJsonBody(Buffer.from("[1]")), {
      error: "invalid JSON body: the body must be a JSON object",
    });
    assert.match((parseJsonBody(Buffer.from("{nope")) as { error: string }).error, /^invalid JSON body: /);
    assert.deepEqual(parseJsonBody(Buffer.from('{"a":1}')), { body: { a: 1 } });
  });
});

describe("exchange plan: requests checked as the client's API checks them", () => {
  test("a Messages request with no `messages` to a translated runtime is a 400 naming `messages`, not a 200", () => {
    const refused = expectKind(plan("/v1/messages", { model: "mlx", max_tokens: 64 }), "refuse");
    assert.equal(refused.status, 400);
    assert.equal(refused.message, "messages: Field required");
    assert.equal(refused.server?.name, "mlx");
  });

  test("wrongly typed fields are refused in the API's words, on agent routes and under translate: always too", () => {
    const typed = expectKind(
      plan("/v1/messages", messages({ model: "strict", max_tokens: "lots" })),
      "refuse",
    );
    assert.equal(typed.message, "max_tokens: Input should be a valid integer");
    const pinned = expectKind(
      plan(
        "/v1/messages",
        { model: "claude-sonnet-4", max_tokens: 8, messages: [{ role: "robot", content: "x" }] },
        "coder",
      ),
      "refuse",
    );
    assert.equal(pinned.message, "messages.0.role: Input should be 'user', 'assistant' or 'system'");
    const responses = expectKind(plan("/v1/responses", { model: "mlx", input: 42 }), "refuse");
    assert.equal(responses.status, 400);
    assert.equal(
      responses.message,
      "Invalid type for 'input': expected one of a string or an array, but got an integer instead.",
    );
  });

  test("count_tokens answered by rig needs no max_tokens, but does need messages", () => {
    expectKind(
      plan("/v1/messages/count_tokens", { model: "mlx", messages: [{ role: "user", content: "x" }] }),
      "local",
    );
    const refused = expectKind(plan("/v1/messages/count_tokens", { model: "mlx" }), "refuse");
    assert.equal(refused.message, "messages: Field required");
  });

  test("a Codex warm-up is still answered locally; a malformed one is refused first", () => {
    expectKind(plan("/v1/responses", { model: "mlx" }), "local-events");
    const refused = expectKind(
      plan("/v1/responses", { model: "mlx", input: [], max_output_tokens: "x" }),
      "refuse",
    );
    assert.match(refused.message, /^Invalid type for 'max_output_tokens'/);
  });

  test("a request passed natively is the runtime's to check: rig adds no validation of its own", () => {
    expectKind(plan("/v1/messages", { model: "llama", max_tokens: 64 }), "native");
    expectKind(plan("/v1/messages", { model: "closed", max_tokens: 64 }), "native");
    expectKind(plan("/v1/responses", { model: "llama", input: 42 }), "native");
    const malformedForced = messages({
      model: "llama",
      tools: [{ name: "shell" }],
      tool_choice: { type: "any" },
    });
    expectKind(plan("/v1/messages", malformedForced), "native");
  });
});

describe("bounded and hostile names", () => {
  test("`__proto__` and `constructor` are unknown models and agents (404), not objects", () => {
    for (const model of ["__proto__", "constructor", "toString"]) {
      const refused = expectKind(plan("/v1/chat/completions", { model, messages: [] }), "refuse");
      assert.equal(refused.status, 404, model);
      const agent = matchRoute("POST", `/agents/${model}/v1/messages`, config);
      assert.equal(agent.kind === "refuse" && agent.status, 404, model);
    }
  });

  test("a megabyte-long model name is refused before any lookup, without an echo of it", () => {
    const model = "m".repeat(1024 * 1024);
    const refused = expectKind(plan("/v1/chat/completions", { model, messages: [] }), "refuse");
    assert.equal(refused.status, 400);
    assert.ok(refused.message.length < 200);
    const longAgent = matchRoute("POST", `/agents/${"a".repeat(300)}/v1/messages`, config);
    assert.equal(longAgent.kind === "refuse" && longAgent.status, 400);
  });

  test("a malformed %-escape in the path is a 400", () => {
    const refused = matchRoute("POST", "/agents/%E0%A4%A/v1/messages", config);
    assert.equal(refused.kind === "refuse" && refused.status, 400);
    assert.match(refused.kind === "refuse" ? refused.message : "", /malformed %-escape/);
  });
});

describe("route table", () => {
  test("model routes, agent routes and what is not a model route", () => {
    assert.equal(matchRoute("GET", "/health", config).kind, "none");
    assert.deepEqual(matchRoute("GET", "/v1/models", config), { kind: "models", agent: undefined });
    const pinned = matchRoute("POST", "/agents/coder/v1/messages", config);
    assert.equal(pinned.kind, "exchange");
    assert.equal(pinned.kind === "exchange" && pinned.agent?.name, "coder");
    assert.equal(pinned.kind === "exchange" && pinned.dialect, "anthropic");
  });

  test("an unknown agent: 404 in the route's dialect with the nearest agent", () => {
    const refused = matchRoute("POST", "/agents/codr/v1/messages", config);
    assert.equal(refused.kind, "refuse");
    assert.equal(refused.kind === "refuse" && refused.dialect, "anthropic");
    assert.match(refused.kind === "refuse" ? refused.message : "", /did you mean `coder`/);
  });

  test("wrong method and unknown paths", () => {
    const get = matchRoute("GET", "/v1/chat/completions", config);
    assert.equal(get.kind === "refuse" && get.status, 405);
    const unknown = matchRoute("POST", "/v1/nope", config);
    assert.equal(unknown.kind === "refuse" && unknown.status, 404);
    const outside = matchRoute("GET", "/agents/coder/metrics", config);
    assert.equal(outside.kind === "refuse" && outside.status, 404);
  });
});
