import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadConfig } from "../../src/config/loader.ts";
import { ConfigError, type Problem } from "../../src/config/problems.ts";

function home(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "rig-config-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, ".."), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

async function problemsOf(root: string, env: NodeJS.ProcessEnv = {}): Promise<Problem[]> {
  try {
    await loadConfig({ home: root, env: { ...env, HOME: homedir() } });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.problems;
  }
  assert.fail("the config loaded, but it should not have");
}

const at = (problem: Problem) =>
  `${problem.where?.file.split("/").pop()}:${problem.where?.line}:${problem.where?.col}`;

describe("rig.yaml loader", () => {
  test("context takes tokens as people write them: 32768, 32k, 1.5k; anything else is an error at its place", async () => {
    const config = await loadConfig({
      home: home({
        "rig.yaml":
          "servers:\n  a: { runtime: remote, url: http://box:1, context: 32k }\n  b: { runtime: remote, url: http://box:2, context: 1.5K }\n  c: { runtime: remote, url: http://box:3, context: 4096 }\n",
      }),
      env: { HOME: homedir() },
    });
    assert.deepEqual(
      ["a", "b", "c"].map((name) => config.servers[name]!.context),
      [32768, 1536, 4096],
    );
    const problems = await problemsOf(
      home({ "rig.yaml": "servers:\n  a: { runtime: remote, url: http://box:1, context: 64 thousand }\n" }),
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /use a number of tokens: 32768, or 32k \(k is 1024\)/);
    assert.equal(at(problems[0]!), "rig.yaml:2:53");
  });

  test("the design document's example loads, with defaults, paths and env resolved", async () => {
    const root = home({
      "rig.yaml": `gateway: { host: 127.0.0.1, port: 7878, api_key: "\${env:RIG_TEST_KEY}" }
paths:
  models: [models, ~/.lmstudio/models]
  bin: ~/.local/bin
runtimes:
  llama.cpp: { command: llama-server }
servers:
  qwen27b:
    runtime: mlx
    model: ~/.lmstudio/models/Brooooooklyn/Qwen3.6-27B-UD-Q6_K_XL-mlx
    args: [--max-tokens, 8192, --prefill-step-size, 2048, --prompt-cache-bytes, 50GB, --pipeline]
    port: 8080
    env: {}
    context: 262144
    aliases: [qwen]
    ttl: 30m
    group: big
    timeout: { start: 10m, response: 30m }
    translate: auto
    request:
      set: { chat_template_kwargs: { enable_thinking: false } }
      defaults: { temperature: 0.7 }
      drop: [reasoning_effort]
    notes: prefill-step-size 2048 measured 1.6x faster prefill than default
  local:
    runtime: llama.cpp
    model: models/a.gguf
agents:
  qwen-code-qwen: { harness: qwen-code, server: qwen27b, model_id: default_model }
  claude-qwen:    { harness: claude-code, server: qwen }
  codex-qwen:     { harness: codex, server: qwen27b, args: [], env: {}, request: {} }
`,
    });
    const config = await loadConfig({ home: root, env: { RIG_TEST_KEY: "sekret", HOME: homedir() } });
    assert.equal(config.gateway.apiKey, "sekret");
    assert.equal(config.gateway.bodyLimitBytes, 50_000_000);
    assert.deepEqual(config.paths.models, [join(root, "models"), join(homedir(), ".lmstudio/models")]);
    const qwen = config.servers.qwen27b!;
    assert.equal(qwen.modelPath, join(homedir(), ".lmstudio/models/Brooooooklyn/Qwen3.6-27B-UD-Q6_K_XL-mlx"));
    assert.deepEqual(qwen.args.slice(0, 2), ["--max-tokens", "8192"], "numbers in args become strings");
    assert.equal(qwen.ttlMs, 30 * 60_000);
    assert.equal(qwen.startTimeoutMs, 10 * 60_000);
    assert.equal(qwen.responseTimeoutMs, 30 * 60_000);
    assert.equal(
      config.servers.local!.modelPath,
      join(root, "models/a.gguf"),
      "relative paths are relative to the home",
    );
    assert.equal(config.agents["claude-qwen"]!.server, "qwen", "an agent may name a server by alias");
    assert.deepEqual(config.where(["servers", "qwen27b", "port"]), {
      file: join(root, "rig.yaml"),
      line: 12,
      col: 11,
    });
  });

  test("an unknown key names file:line:column and the nearest valid key", async () => {
    const root = home({ "rig.yaml": "servers:\n  a:\n    runtme: llama.cpp\n    model: x.gguf\n" });
    const problems = await problemsOf(root);
    const typo = problems.find((problem) => problem.code === "unknown-key")!;
    assert.equal(at(typo), "rig.yaml:3:5");
    assert.equal(typo.path, "servers.a.runtme");
    assert.match(typo.message, /unknown key `runtme`; did you mean `runtime`\?/);
    assert.equal(
      problems.length,
      1,
      "the misspelt key is the only problem: runtime's absence is not reported twice",
    );
  });

  test("every problem is reported at once, each at its own place", async () => {
    const root = home({
      "rig.yaml":
        "gateway:\n  prot: 1\nservers:\n  a:\n    runtime: llamacpp\n    model: x.gguf\n    ttl: soon\n",
    });
    const problems = await problemsOf(root);
    const byPath = new Map(problems.map((problem) => [problem.path, problem]));
    assert.equal(at(byPath.get("gateway.prot")!), "rig.yaml:2:3");
    assert.match(byPath.get("gateway.prot")!.message, /did you mean `port`/);
    assert.equal(at(byPath.get("servers.a.runtime")!), "rig.yaml:5:14");
    assert.match(
      byPath.get("servers.a.runtime")!.message,
      /`llamacpp` is not one of .*did you mean `llama.cpp`/,
    );
    assert.equal(at(byPath.get("servers.a.ttl")!), "rig.yaml:7:10");
  });

  test("a runtime's required key is asked for by name", async () => {
    const problems = await problemsOf(home({ "rig.yaml": "servers:\n  r:\n    runtime: remote\n" }));
    assert.equal(problems[0]!.path, "servers.r.url");
    assert.match(problems[0]!.message, /a remote server needs `url:`/);
    assert.equal(at(problems[0]!), "rig.yaml:3:5");
  });

  test("${env:NAME} fails where it is written when unset, and takes a default", async () => {
    const text = 'gateway:\n  api_key: "${env:RIG_NOT_SET}"\n';
    const problems = await problemsOf(home({ "rig.yaml": text }));
    assert.equal(problems[0]!.code, "env-unset");
    assert.equal(at(problems[0]!), "rig.yaml:2:12");
    assert.match(problems[0]!.message, /RIG_NOT_SET is not set/);
    const root = home({ "rig.yaml": 'gateway:\n  api_key: "${env:RIG_NOT_SET:-fallback}"\n' });
    assert.equal((await loadConfig({ home: root, env: {} })).gateway.apiKey, "fallback");
  });

  test("an unset ${env:NAME} where a number goes is one problem, not a second about the type", async () => {
    const problems = await problemsOf(home({ "rig.yaml": 'gateway:\n  port: "${env:RIG_NOT_SET}"\n' }));
    assert.deepEqual(
      problems.map((problem) => problem.code),
      ["env-unset"],
    );
  });

  test("include merges more files; a name defined twice is reported at both places", async () => {
    const root = home({
      "rig.yaml": "include: [conf.d/*.yaml]\nservers:\n  a: { runtime: llama.cpp, model: a.gguf }\n",
      "conf.d/more.yaml":
        "servers:\n  b: { runtime: llama.cpp, model: b.gguf }\nagents:\n  claude-b: { harness: claude-code, server: b }\n",
    });
    const config = await loadConfig({ home: root, env: {} });
    assert.deepEqual(Object.keys(config.servers).sort(), ["a", "b"]);
    assert.equal(config.where(["servers", "b"]).file, join(root, "conf.d/more.yaml"));
    writeFileSync(join(root, "conf.d/twice.yaml"), "# again\nservers:\n  a: { runtime: mlx, model: a }\n");
    const problems = await problemsOf(root);
    const duplicate = problems.find((problem) => problem.code === "duplicate-name")!;
    assert.equal(at(duplicate), "twice.yaml:3:3");
    assert.ok(duplicate.message.includes(`${join(root, "rig.yaml")}:3:3`), duplicate.message);
  });

  test("an agent naming an unknown server gets the nearest name", async () => {
    const root = home({
      "rig.yaml":
        "servers:\n  qwen27b: { runtime: llama.cpp, model: a.gguf }\nagents:\n  c: { harness: claude-code, server: qwen72b }\n",
    });
    const [problem] = await problemsOf(root);
    assert.equal(problem!.code, "unknown-server");
    assert.equal(at(problem!), "rig.yaml:4:38");
    assert.match(problem!.message, /did you mean `qwen27b`/);
  });

  test("aliases must be unique; fixed ports clash unless the servers share a group", async () => {
    const root = home({
      "rig.yaml": [
        "servers:",
        "  a: { runtime: llama.cpp, model: a.gguf, aliases: [fast], port: 9001 }",
        "  b: { runtime: llama.cpp, model: b.gguf, aliases: [fast], port: 9001 }",
        "  c: { runtime: llama.cpp, model: c.gguf, port: 9002, group: g }",
        "  d: { runtime: llama.cpp, model: d.gguf, port: 9002, group: g }",
        "",
      ].join("\n"),
    });
    const problems = await problemsOf(root);
    assert.deepEqual(problems.map((problem) => problem.code).sort(), ["duplicate-alias", "port-clash"]);
    const clash = problems.find((problem) => problem.code === "port-clash")!;
    assert.equal(clash.path, "servers.b.port");
    assert.match(clash.message, /also used by servers\.a/);
  });

  test("a YAML syntax error has its position", async () => {
    const [problem] = await problemsOf(home({ "rig.yaml": "servers:\n  a: { runtime: llama.cpp\n" }));
    assert.equal(problem!.code, "yaml-syntax");
    assert.equal(problem!.where?.line, 3);
  });

  test("a key indented wrong is one problem that says so, not three parser complaints", async () => {
    const problems = await problemsOf(
      home({ "rig.yaml": "servers:\n  tiny:\n    runtime: llama.cpp\n  model: x.gguf\n    context: 5\n" }),
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /a key indented less than the keys beside it/);
    assert.match(problems[0]!.message, /\(1 more YAML error may follow from it\)/);
    assert.equal(at(problems[0]!), "rig.yaml:4:10");
  });

  test("a missing rig.yaml says how to make one", async () => {
    const [problem] = await problemsOf(mkdtempSync(join(tmpdir(), "rig-empty-")));
    assert.match(problem!.message, /rig init/);
  });
});
