import assert from "node:assert/strict";
import { test } from "node:test";
import { llamaCpp } from "../../src/runtimes/llama-cpp.ts";

const forcer = llamaCpp.forceToolChoice!;
const tool = (name: string) => ({
  type: "function",
  function: { name, parameters: { type: "object", properties: { city: { type: "string" } } } },
});
const chat = (toolChoice: unknown) => ({
  model: "qwen",
  messages: [{ role: "user", content: "weather?" }],
  tools: [tool("get_weather"), tool("get_time")],
  tool_choice: toolChoice,
  max_tokens: 300,
  temperature: 0.2,
  stream: true,
});

test("a required or named tool choice is forced; auto, none and unknown names are left to the model", () => {
  assert.equal(forcer.forces(chat("required")), true);
  assert.equal(forcer.forces(chat({ type: "function", function: { name: "get_time" } })), true);
  assert.equal(forcer.forces(chat({ type: "function", function: { name: "nope" } })), false);
  assert.equal(forcer.forces(chat("auto")), false);
  assert.equal(forcer.forces(chat("none")), false);
  assert.equal(forcer.forces({ ...chat("required"), tools: [] }), false);
});

test("the prompt comes from the runtime's template with the tools; generation is held to the allowed calls", () => {
  const request = chat({ type: "function", function: { name: "get_time" } });
  assert.deepEqual(forcer.templateRequest(request), {
    path: "/apply-template",
    body: { messages: request.messages, tools: request.tools },
  });
  const completion = forcer.completionRequest(request, { prompt: "<prompt>" });
  assert.equal(completion.path, "/completion");
  assert.deepEqual(completion.body, {
    prompt: "<prompt>",
    json_schema: {
      type: "object",
      properties: { name: { const: "get_time" }, arguments: tool("get_time").function.parameters },
      required: ["name", "arguments"],
    },
    n_predict: 300,
    cache_prompt: true,
    temperature: 0.2,
  });
  const anyOf = (
    forcer.completionRequest(chat("required"), { prompt: "" }).body.json_schema as { anyOf: unknown[] }
  ).anyOf;
  assert.equal(anyOf.length, 2, "required allows every tool");
});

test("the generated call becomes a Chat tool call; one cut off by the token limit comes back as text", () => {
  const done = forcer.chatAnswer(chat("required"), {
    content: '{"name": "get_weather", "arguments": {"city": "Paris"}}',
    tokens_evaluated: 40,
    tokens_predicted: 12,
  }) as {
    choices: Array<{
      message: { tool_calls: Array<{ function: { name: string; arguments: string } }> };
      finish_reason: string;
    }>;
    usage: unknown;
  };
  assert.equal(done.choices[0]!.finish_reason, "tool_calls");
  assert.deepEqual(done.choices[0]!.message.tool_calls[0]!.function, {
    name: "get_weather",
    arguments: '{"city":"Paris"}',
  });
  assert.deepEqual(done.usage, { prompt_tokens: 40, completion_tokens: 12, total_tokens: 52 });

  const cut = forcer.chatAnswer(chat("required"), { content: '{"name": "get_weather", "argu' }) as {
    choices: Array<{ message: { content: string | null; tool_calls?: unknown }; finish_reason: string }>;
  };
  assert.equal(cut.choices[0]!.finish_reason, "length");
  assert.equal(cut.choices[0]!.message.content, null, "rig's call wrapper never reaches the client as text");
  assert.equal(cut.choices[0]!.message.tool_calls, undefined);
});
