import assert from "node:assert/strict";
import { test } from "node:test";
import { llamaCpp } from "../../src/runtimes/llama-cpp.ts";

test("llama-server's start lines show as progress without its uptime, level and module; banners not at all", () => {
  const shown = (line: string) => llamaCpp.progressText!(line);
  assert.equal(
    shown("0.01.849.844 I srv    load_model: initializing, n_slots = 4, n_ctx_slot = 2048"),
    "load_model: initializing, n_slots = 4, n_ctx_slot = 2048",
  );
  assert.equal(shown("0.01.872.126 I srv  llama_server: model loaded"), "llama_server: model loaded");
  assert.equal(shown("0.00.002.564 W srv  llama_server: -----------------"), undefined);
  assert.equal(shown("load_tensors: loading model tensors"), "load_tensors: loading model tensors");
});
