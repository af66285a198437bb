import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HARNESSES } from "../../src/harnesses/index.ts";
import type { HarnessInput } from "../../src/harnesses/types.ts";

const input = (overrides: Partial<HarnessInput> = {}): HarnessInput => ({
  agent: "coder",
  baseUrl: "http://127.0.0.1:7878/agents/coder",
  model: "qwen",
  context: 65536,
  stateDir: "/home/u/local-llm/state/harnesses/coder",
  command: ["agent-cli"],
  ...overrides,
});

describe("every harness adapter keeps the contract", () => {
  for (const adapter of Object.values(HARNESSES)) {
    test(`${adapter.name}: pure, points at the agent's gateway URL, sends the gateway key, writes only under state/`, () => {
      const given = input({ apiKey: "k3y" });
      const launch = adapter.launch(given);
      assert.deepEqual(adapter.launch(given), launch);
      assert.equal(launch.command, "agent-cli");
      const everything = JSON.stringify(launch);
      assert.ok(everything.includes("http://127.0.0.1:7878/agents/coder"), everything);
      assert.ok(everything.includes("k3y"), "the gateway key travels the way this harness sends keys");
      for (const file of launch.files) assert.ok(file.path.startsWith(given.stateDir), file.path);
      const custom = adapter.launch(input({ command: ["/opt/agent", "--profile", "x"] }));
      assert.equal(custom.command, "/opt/agent");
      assert.deepEqual(custom.args.slice(0, 2), ["--profile", "x"]);
    });
  }
});

describe("what each agent gets", () => {
  test("Claude Code: base URL without /v1, token set, API key emptied, every model slot on the agent's model, limits from the context", () => {
    const { env } = HARNESSES["claude-code"]!.launch(input());
    assert.equal(env.ANTHROPIC_BASE_URL, "http://127.0.0.1:7878/agents/coder");
    assert.equal(env.ANTHROPIC_API_KEY, "");
    assert.ok(env.ANTHROPIC_AUTH_TOKEN);
    for (const key of [
      "ANTHROPIC_MODEL",
      "ANTHROPIC_DEFAULT_HAIKU_MODEL",
      "ANTHROPIC_DEFAULT_SONNET_MODEL",
      "ANTHROPIC_DEFAULT_OPUS_MODEL",
      "ANTHROPIC_SMALL_FAST_MODEL",
    ]) {
      assert.equal(env[key], "qwen", key);
    }
    assert.equal(env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC, "1");
    assert.equal(env.CLAUDE_CODE_ATTRIBUTION_HEADER, "0");
    assert.equal(env.CLAUDE_CODE_MAX_OUTPUT_TOKENS, "16384");
    assert.equal(env.CLAUDE_CODE_AUTO_COMPACT_WINDOW, "65536");
    assert.ok(Number(env.API_TIMEOUT_MS) >= 600_000);
  });

  test("Codex: -c overrides only, a responses-wire provider named rig", () => {
    const { args, env } = HARNESSES.codex!.launch(input());
    const overrides = args.filter((_, index) => args[index - 1] === "-c");
    assert.deepEqual(overrides, [
      'model_providers.rig.name="rig"',
      'model_providers.rig.base_url="http://127.0.0.1:7878/agents/coder/v1"',
      'model_providers.rig.wire_api="responses"',
      'model_providers.rig.env_key="RIG_AGENT_KEY"',
      'model_provider="rig"',
      'model="qwen"',
      "model_context_window=65536",
    ]);
    assert.ok(env.RIG_AGENT_KEY);
  });

  test("Qwen Code: OpenAI variables, --auth-type openai, and its limits in a defaults file rig owns", () => {
    const { args, env, files } = HARNESSES["qwen-code"]!.launch(input());
    assert.deepEqual(args, ["--auth-type", "openai"]);
    assert.equal(env.OPENAI_BASE_URL, "http://127.0.0.1:7878/agents/coder/v1");
    assert.equal(env.OPENAI_MODEL, "qwen");
    assert.equal(env.QWEN_CODE_SYSTEM_DEFAULTS_PATH, "/home/u/local-llm/state/harnesses/coder/settings.json");
    assert.equal(files[0]!.path, env.QWEN_CODE_SYSTEM_DEFAULTS_PATH);
    assert.deepEqual(JSON.parse(files[0]!.content), {
      model: { generationConfig: { contextWindowSize: 65536, samplingParams: { max_tokens: 16384 } } },
    });
  });

  test("Pi: a models.json rig owns, with contextWindow and maxTokens, found through PI_CODING_AGENT_DIR", () => {
    const launch = HARNESSES.pi!.launch(input());
    assert.equal(launch.env.PI_CODING_AGENT_DIR, "/home/u/local-llm/state/harnesses/coder");
    assert.deepEqual(launch.args, ["--provider", "rig", "--model", "qwen"]);
    const models = JSON.parse(launch.files[0]!.content);
    assert.deepEqual(models.providers.rig.models[0], {
      id: "qwen",
      name: "qwen",
      contextWindow: 65536,
      maxTokens: 16384,
    });
  });

  test("opencode: an openai-compatible provider in OPENCODE_CONFIG_CONTENT with limits; auto-update off", () => {
    const { env } = HARNESSES.opencode!.launch(input());
    const config = JSON.parse(env.OPENCODE_CONFIG_CONTENT!);
    assert.equal(config.model, "rig/qwen");
    assert.equal(config.autoupdate, false);
    assert.equal(config.provider.rig.npm, "@ai-sdk/openai-compatible");
    assert.deepEqual(config.provider.rig.models.qwen.limit, { context: 65536, output: 16384 });
    assert.equal(env.OPENCODE_DISABLE_AUTOUPDATE, "1");
  });

  test("Gemini CLI: Google's base URL without /v1beta, its home in rig's folder, an auth type and limits in its settings", () => {
    const { args, env, files } = HARNESSES["gemini-cli"]!.launch(input());
    assert.deepEqual(args, ["--model", "qwen"]);
    assert.equal(env.GOOGLE_GEMINI_BASE_URL, "http://127.0.0.1:7878/agents/coder");
    assert.equal(env.GEMINI_CLI_HOME, "/home/u/local-llm/state/harnesses/coder");
    assert.ok(env.GEMINI_API_KEY);
    assert.equal(files[0]!.path, "/home/u/local-llm/state/harnesses/coder/.gemini/settings.json");
    const settings = JSON.parse(files[0]!.content);
    assert.equal(settings.security.auth.selectedType, "gemini-api-key");
    assert.equal(settings.privacy.usageStatisticsEnabled, false);
    assert.equal(settings.general.enableAutoUpdate, false);
    assert.equal(
      settings.model.compressionThreshold * 1_048_576,
      32_768,
      "it compresses at half of the profile's window, as it would at half of its own",
    );
    assert.deepEqual(settings.modelConfigs.customAliases.qwen, {
      modelConfig: { model: "qwen", generateContentConfig: { maxOutputTokens: 16384 } },
    });
  });

  test("Copilot CLI: offline, its own OpenAI-compatible provider, the window split between prompt and output", () => {
    const { env } = HARNESSES.copilot!.launch(input());
    assert.equal(env.COPILOT_OFFLINE, "true");
    assert.equal(env.COPILOT_AUTO_UPDATE, "false");
    assert.equal(env.COPILOT_PROVIDER_BASE_URL, "http://127.0.0.1:7878/agents/coder/v1");
    assert.equal(env.COPILOT_PROVIDER_TYPE, "openai");
    assert.equal(env.COPILOT_MODEL, "qwen");
    assert.equal(env.COPILOT_PROVIDER_MAX_OUTPUT_TOKENS, "16384");
    assert.equal(env.COPILOT_PROVIDER_MAX_PROMPT_TOKENS, String(65536 - 16384));
  });

  test("Crush: a crushrc in CRUSH_GLOBAL_CONFIG with the provider and both model slots; the key stays in the environment", () => {
    const { env, files } = HARNESSES.crush!.launch(input({ apiKey: "k3y" }));
    assert.equal(env.CRUSH_GLOBAL_CONFIG, "/home/u/local-llm/state/harnesses/coder");
    assert.equal(env.RIG_AGENT_KEY, "k3y");
    assert.equal(files[0]!.path, "/home/u/local-llm/state/harnesses/coder/crushrc");
    const crushrc = files[0]!.content;
    assert.doesNotMatch(crushrc, /k3y/);
    assert.match(
      crushrc,
      /^provider add rig --type openai-compat --name rig --base-url 'http:\/\/127\.0\.0\.1:7878\/agents\/coder\/v1' --api-key "\$RIG_AGENT_KEY"$/m,
    );
    assert.match(
      crushrc,
      /^model add 'rig\/qwen' --name 'qwen' --context-window 65536 --default-max-tokens 16384$/m,
    );
    assert.match(crushrc, /^model large 'rig\/qwen' --max-tokens 16384$/m);
    assert.match(crushrc, /^model small 'rig\/qwen' --max-tokens 16384$/m);
    const quoted = HARNESSES.crush!.launch(input({ model: "it's" })).files[0]!.content;
    assert.match(quoted, /--name 'it'\\''s'/, "a quote in a name cannot end the shell word");
  });

  test("Cline CLI: its providers file under --config, the OpenAI-compatible provider chosen, with the limits; no self-update", () => {
    const { args, env, files } = HARNESSES.cline!.launch(input());
    assert.equal(env.CLINE_NO_AUTO_UPDATE, "1");
    assert.deepEqual(args, [
      "--config",
      "/home/u/local-llm/state/harnesses/coder",
      "--provider",
      "openai-compatible",
      "--model",
      "qwen",
    ]);
    assert.equal(files[0]!.path, "/home/u/local-llm/state/harnesses/coder/data/settings/providers.json");
    const stored = JSON.parse(files[0]!.content);
    assert.equal(stored.lastUsedProvider, "openai-compatible");
    assert.deepEqual(stored.providers["openai-compatible"].settings, {
      provider: "openai-compatible",
      apiKey: "rig-local",
      model: "qwen",
      baseUrl: "http://127.0.0.1:7878/agents/coder/v1",
      maxTokens: 16384,
      contextWindow: 65536,
    });
  });

  test("Kilo CLI: opencode's config in KILO_CONFIG_CONTENT; no models catalogue fetched", () => {
    const { env } = HARNESSES.kilo!.launch(input());
    const config = JSON.parse(env.KILO_CONFIG_CONTENT!);
    assert.equal(config.model, "rig/qwen");
    assert.equal(config.provider.rig.options.baseURL, "http://127.0.0.1:7878/agents/coder/v1");
    assert.deepEqual(config.provider.rig.models.qwen.limit, { context: 65536, output: 16384 });
    assert.equal(env.KILO_DISABLE_MODELS_FETCH, "1");
  });

  test("Continue CLI: a config of one OpenAI-compatible model with its window and output limit, named by --config", () => {
    const { args, env, files } = HARNESSES.continue!.launch(input());
    assert.deepEqual(args, ["--config", "/home/u/local-llm/state/harnesses/coder/config.yaml"]);
    assert.equal(env.CONTINUE_CLI_ENABLE_TELEMETRY, "0");
    const [model] = JSON.parse(files[0]!.content).models;
    assert.equal(model.provider, "openai");
    assert.equal(model.apiBase, "http://127.0.0.1:7878/agents/coder/v1");
    assert.deepEqual(model.defaultCompletionOptions, { contextLength: 65536, maxTokens: 16384 });
    assert.ok(model.roles.includes("chat"));
  });

  test("a key in a file makes the file readable by its owner only", () => {
    for (const name of ["cline", "continue"]) {
      const { files } = HARNESSES[name]!.launch(input({ apiKey: "k3y" }));
      assert.equal(files[0]!.secret, true, name);
    }
  });
});
