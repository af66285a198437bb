import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RUNTIMES } from "../../src/runtimes/index.ts";
import type { LaunchInput } from "../../src/runtimes/types.ts";

const input = (overrides: Partial<LaunchInput> = {}): LaunchInput => ({
  name: "qwen",
  model: "/models/qwen.gguf",
  args: ["--flag", "1"],
  host: "127.0.0.1",
  port: "8123",
  env: { EXTRA: "yes" },
  context: 32768,
  ...overrides,
});

const inputFor = (kind: string): LaunchInput =>
  kind === "remote"
    ? input({ url: "http://10.1.2.3:8000/v1", model: "served-name" })
    : kind === "command"
      ? input({ command: ["my-server", "--port", "${PORT}", "--host", "${HOST}", "--model", "${MODEL}"] })
      : kind === "ollama"
        ? input({ model: "qwen3:8b" })
        : input();

describe("every runtime adapter keeps the contract", () => {
  for (const adapter of Object.values(RUNTIMES)) {
    describe(adapter.kind, () => {
      test("is pure and deterministic: the same input gives the same launch, the input is not changed", () => {
        const given = inputFor(adapter.kind);
        const frozen = structuredClone(given);
        assert.deepEqual(adapter.process(given), adapter.process(given));
        assert.deepEqual(given, frozen);
      });

      test("speaks chat completions natively and declares its health path and start timeout", () => {
        assert.ok(adapter.dialects.includes("chat"));
        assert.match(adapter.healthPath, /^\//);
        assert.ok(adapter.defaultStartTimeoutMs >= 30_000);
      });

      test("a launch carries the port, the user's args and env", () => {
        const given = inputFor(adapter.kind);
        const spec = adapter.process(given);
        const launch = JSON.stringify([
          spec,
          adapter.prepare?.(given) ?? [],
          adapter.afterReady?.(given) ?? [],
        ]);
        if (adapter.kind === "remote") {
          assert.equal(spec, null);
          return;
        }
        assert.ok(launch.includes("8123"), launch);
        assert.ok(launch.includes('"--flag","1"]'), `user args come last so they win: ${launch}`);
        if (spec) assert.equal(spec.env.EXTRA, "yes");
      });

      test("the executable can be overridden", () => {
        if (adapter.kind === "remote" || adapter.kind === "command") return;
        const custom = input({ ...inputFor(adapter.kind), command: ["/opt/bin/custom", "--sub"] });
        const prepared = adapter.prepare?.(custom)[0];
        const first = adapter.process(custom)?.argv ?? (prepared?.kind === "command" ? prepared.argv : []);
        assert.deepEqual(first.slice(0, 2), ["/opt/bin/custom", "--sub"]);
      });

      test("the base URL answers on the launch's host and port (remote: on its url)", () => {
        const url = adapter.baseUrl(inputFor(adapter.kind));
        assert.equal(url, adapter.kind === "remote" ? "http://10.1.2.3:8000" : "http://127.0.0.1:8123");
      });
    });
  }
});

describe("argv golden files use each runtime's real flags", () => {
  const golden: Record<string, string[]> = {
    "llama.cpp": [
      "llama-server",
      "-m",
      "/models/qwen.gguf",
      "--host",
      "127.0.0.1",
      "--port",
      "8123",
      "--ctx-size",
      "32768",
      "--flag",
      "1",
    ],
    mlx: [
      "mlx_lm.server",
      "--model",
      "/models/qwen.gguf",
      "--host",
      "127.0.0.1",
      "--port",
      "8123",
      "--flag",
      "1",
    ],
    vllm: [
      "vllm",
      "serve",
      "/models/qwen.gguf",
      "--host",
      "127.0.0.1",
      "--port",
      "8123",
      "--served-model-name",
      "qwen",
      "--max-model-len",
      "32768",
      "--flag",
      "1",
    ],
    sglang: [
      "python",
      "-m",
      "sglang.launch_server",
      "--model-path",
      "/models/qwen.gguf",
      "--host",
      "127.0.0.1",
      "--port",
      "8123",
      "--served-model-name",
      "qwen",
      "--context-length",
      "32768",
      "--flag",
      "1",
    ],
    ollama: ["ollama", "serve", "--flag", "1"],
    command: [
      "my-server",
      "--port",
      "8123",
      "--host",
      "127.0.0.1",
      "--model",
      "/models/qwen.gguf",
      "--flag",
      "1",
    ],
  };
  for (const [kind, argv] of Object.entries(golden)) {
    test(kind, () =>
      assert.deepEqual(
        RUNTIMES[kind]!.process(inputFor(kind))?.argv,
        kind === "ollama" ? ["ollama", "serve", "--flag", "1"] : argv,
      ),
    );
  }

  test("a context flag the user already passes is not added twice", () => {
    const argv = RUNTIMES["llama.cpp"]!.process(input({ args: ["-c", "4096"] }))!.argv;
    assert.equal(argv.filter((arg) => arg === "--ctx-size" || arg === "-c").length, 1);
    assert.deepEqual(
      RUNTIMES.vllm!.process(input({ args: ["--max-model-len=8192"] }))!.argv.filter((arg) =>
        arg.startsWith("--max-model-len"),
      ),
      ["--max-model-len=8192"],
    );
  });

  test("ollama pins the tag on load and unloads it with keep_alive 0; its server binds the profile's port", () => {
    const ollama = RUNTIMES.ollama!;
    assert.equal(ollama.process(inputFor("ollama"))!.env.OLLAMA_HOST, "127.0.0.1:8123");
    assert.equal(ollama.process(inputFor("ollama"))!.env.OLLAMA_CONTEXT_LENGTH, "32768");
    assert.deepEqual(ollama.afterReady!(inputFor("ollama")), [
      { kind: "http", method: "POST", path: "/api/generate", body: { model: "qwen3:8b", keep_alive: -1 } },
    ]);
    assert.deepEqual(ollama.beforeStop!(inputFor("ollama")), [
      { kind: "http", method: "POST", path: "/api/generate", body: { model: "qwen3:8b", keep_alive: 0 } },
    ]);
    assert.equal(ollama.upstreamModel(inputFor("ollama")), "qwen3:8b");
  });

  test("lmstudio starts LM Studio's own server, loads the model under the profile's name and unloads it", () => {
    const lms = RUNTIMES.lmstudio!;
    assert.equal(lms.process(input()), null, "LM Studio's server is a daemon rig does not own");
    assert.deepEqual(lms.prepare!(input()), [
      { kind: "command", argv: ["lms", "server", "start", "--port", "8123"] },
    ]);
    assert.deepEqual(lms.afterReady!(input()), [
      {
        kind: "command",
        argv: [
          "lms",
          "load",
          "/models/qwen.gguf",
          "--identifier",
          "qwen",
          "-y",
          "--context-length",
          "32768",
          "--flag",
          "1",
        ],
      },
    ]);
    assert.deepEqual(lms.beforeStop!(input()), [{ kind: "command", argv: ["lms", "unload", "qwen"] }]);
  });

  test("failure hints name the fix for the usual log lines", () => {
    const hint = (kind: string, line: string) =>
      RUNTIMES[kind]!.failureHints.find((candidate) => candidate.pattern.test(line))?.message;
    assert.match(
      hint("llama.cpp", "error: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8080")!,
      /port is already in use/,
    );
    assert.match(
      hint("llama.cpp", "llama_model_load: error loading model: tensor data is not within file bounds")!,
      /could not load the model/,
    );
    assert.match(hint("vllm", "ValueError: No available memory for the cache blocks")!, /KV cache/);
    assert.match(hint("mlx", "RuntimeError: [metal::malloc] Out of memory")!, /does not fit in memory/);
  });
});
