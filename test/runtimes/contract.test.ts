import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { serverSchema } from "../../src/config/schema.ts";
import {
  executableKey,
  executableOf,
  modelIsPath,
  RUNTIMES,
  runtimeForFormat,
} from "../../src/runtimes/index.ts";
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

      test("the executable can be overridden, at the key rig.yaml reads it from; a server rig only reaches runs nothing", () => {
        const custom = input({ ...inputFor(adapter.kind), command: ["/opt/bin/custom", "--sub"] });
        const prepared = adapter.prepare?.(custom)[0];
        const first = adapter.process(custom)?.argv ?? (prepared?.kind === "command" ? prepared.argv : []);
        const key = executableKey(adapter, "qwen").join(".");
        if (adapter.defaultCommand.length === 0 && adapter.requires !== "command") {
          assert.deepEqual(first, [], "nothing is spawned, whatever command says");
          assert.equal(executableOf(adapter, undefined), undefined, "no program to look for on PATH");
          return;
        }
        assert.deepEqual(first.slice(0, 2), ["/opt/bin/custom", "--sub"]);
        assert.equal(executableOf(adapter, custom.command), "/opt/bin/custom");
        const profile = { runtime: adapter.kind, ...adapter.example };
        if (adapter.requires === "command") {
          assert.equal(key, "servers.qwen.command", "the profile's own argv is its executable");
          assert.equal(serverSchema.safeParse({ ...profile, command: ["/opt/bin/custom"] }).success, true);
        } else {
          assert.equal(key, `runtimes.${adapter.kind}.command`);
          const misplaced = serverSchema.safeParse({ ...profile, command: ["/opt/bin/custom"] });
          assert.match(misplaced.error!.issues[0]!.message, new RegExp(`set ${key.replaceAll(".", "\\.")}$`));
        }
      });

      test("declares what a profile must name, with a starter example that names it and loads as written", () => {
        const profile = { runtime: adapter.kind, ...adapter.example };
        assert.ok(adapter.example[adapter.requires], `the example sets ${adapter.requires}:`);
        assert.deepEqual(serverSchema.safeParse(profile).error?.issues, undefined);
        const { [adapter.requires]: _, ...without } = profile;
        const missing = serverSchema.safeParse(without);
        assert.deepEqual(missing.error!.issues[0]!.path, [adapter.requires]);
        assert.match(missing.error!.issues[0]!.message, new RegExp(`needs \`${adapter.requires}:\``));
      });

      test("names the model formats it loads, and an install hint when it runs a program", () => {
        if (adapter.modelKind === "path")
          assert.ok(adapter.formats.length > 0, "a path runtime loads some format");
        if (adapter.modelKind === "tag") assert.deepEqual(adapter.formats, [], "a tag runtime loads no file");
        if (adapter.defaultCommand.length > 0) assert.match(adapter.install?.hint ?? "", /\S/);
        if (adapter.install?.rigBuild)
          assert.match(adapter.install.hint, new RegExp(`rig install ${adapter.kind}`));
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
      "--alias",
      "qwen",
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

describe("what the registry decides from the adapters", () => {
  test("model files go to the first runtime that loads their format", () => {
    assert.deepEqual(
      ["gguf", "mlx", "safetensors", "pickle"].map((format) => runtimeForFormat(format)?.kind),
      ["llama.cpp", "mlx", "vllm", undefined],
    );
  });

  test("a model is a local path only where the runtime reads one: never a tag or a remote server's name", () => {
    assert.equal(modelIsPath(RUNTIMES["llama.cpp"]!, "/models/qwen.gguf"), true);
    assert.equal(modelIsPath(RUNTIMES.vllm!, "/models/qwen"), true);
    assert.equal(modelIsPath(RUNTIMES.vllm!, "Qwen/Qwen3-8B"), false, "a registry id");
    assert.equal(modelIsPath(RUNTIMES.remote!, "/data/served/by/vllm"), false, "a name on another machine");
    assert.equal(modelIsPath(RUNTIMES.ollama!, undefined), false);
  });

  test("Ollama tags are matched as Ollama names them; other names as written", () => {
    const ollama = RUNTIMES.ollama!;
    assert.equal(ollama.catalogName!("llama3"), "llama3:latest");
    assert.equal(ollama.catalogName!("qwen3:8b"), "qwen3:8b");
    assert.equal(RUNTIMES.vllm!.catalogName, undefined);
  });
});
