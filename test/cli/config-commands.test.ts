import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadConfig } from "../../src/config/loader.ts";
import { AGENT_PINS } from "../../src/install/agents.ts";
import { launchPlan } from "../../src/runtimes/plan.ts";
import { fakeAgentInstall, tempCache } from "../support/agent-cache.ts";
import { RIG_MAIN, rig, rigJson } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";

const stack = homesForThisFile();

describe("rig init", () => {
  test("creates the home with a valid commented starter, its schema and a .gitignore; never overwrites", async () => {
    const root = join(mkdtempSync(join(tmpdir(), "rig-init-")), "stack");
    const emptyPath = { PATH: "/usr/bin:/bin" };
    const created = await rigJson<{ config: string; harnesses: string[] }>(["init", "--home", root], {
      env: emptyPath,
    });
    assert.equal(created.config, join(root, "rig.yaml"));
    const text = readFileSync(created.config, "utf8");
    assert.match(text, /^# yaml-language-server: \$schema=\.\/rig\.schema\.json/);
    assert.match(text, /^#\s+runtime: llama\.cpp/m, "profiles it cannot fill yet are written commented out");
    assert.ok(existsSync(join(root, "rig.schema.json")));
    assert.equal(readFileSync(join(root, ".gitignore"), "utf8").includes("state/"), true);
    for (const dir of ["docs", "logs", "state", "models"]) assert.ok(existsSync(join(root, dir)), dir);
    await assert.doesNotReject(loadConfig({ home: root }), "the starter loads as written");

    writeFileSync(created.config, "# mine\n");
    const again = await rig(["init", "--home", root]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists; rig never overwrites it/);
    assert.equal(readFileSync(created.config, "utf8"), "# mine\n");
  });

  test("with llama-server and agent CLIs on PATH and a GGUF in models/, the starter has live profiles", async () => {
    const base = mkdtempSync(join(tmpdir(), "rig-init-"));
    const bin = join(base, "bin");
    mkdirSync(bin);
    for (const tool of ["llama-server", "claude", "codex"]) {
      writeFileSync(join(bin, tool), "#!/bin/sh\nexit 0\n");
      chmodSync(join(bin, tool), 0o755);
    }
    const root = join(base, "stack");
    mkdirSync(join(root, "models"), { recursive: true });
    writeFileSync(join(root, "models", "Qwen3-8B-Q4_K_M.gguf"), "GGUF");
    const created = await rigJson<{ runtimes: string[]; harnesses: string[]; server: string }>(
      ["init", "--home", root],
      // An empty cache: what is found comes from PATH alone.
      { env: { PATH: `${bin}:/usr/bin:/bin`, RIG_CACHE: tempCache() } },
    );
    assert.ok(created.runtimes.includes("llama.cpp"));
    assert.deepEqual(created.harnesses, ["claude-code", "codex"]);
    assert.equal(created.server, "qwen3-8b-q4_k_m");
    const config = await loadConfig({ home: root });
    assert.equal(config.servers["qwen3-8b-q4_k_m"]?.modelPath, join(root, "models", "Qwen3-8B-Q4_K_M.gguf"));
    assert.deepEqual(Object.keys(config.agents), ["claude-qwen3-8b-q4_k_m", "codex-qwen3-8b-q4_k_m"]);
  });

  test("agent CLIs in rig's cache count as found, and the starter points harnesses at them; PATH wins", async () => {
    const base = mkdtempSync(join(tmpdir(), "rig-init-"));
    const cache = tempCache();
    const claude = fakeAgentInstall(cache, "claude-code", AGENT_PINS["claude-code"]!.version);
    fakeAgentInstall(cache, "pi", "0.1.0");
    const pi = fakeAgentInstall(cache, "pi", AGENT_PINS.pi!.version);
    fakeAgentInstall(cache, "pi", "99.0.0");
    fakeAgentInstall(cache, "codex", "0.1.0");
    const codex = fakeAgentInstall(cache, "codex", "0.2.0");
    fakeAgentInstall(cache, "qwen-code", AGENT_PINS["qwen-code"]!.version);
    const bin = join(base, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "qwen"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(bin, "qwen"), 0o755);
    const root = join(base, "stack");

    const created = await rig(["init", "--home", root], {
      env: { PATH: `${bin}:/usr/bin:/bin`, RIG_CACHE: cache },
    });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /agent CLIs found: claude-code, codex, qwen-code, pi$/m);
    const config = await loadConfig({ home: root });
    assert.deepEqual(
      config.harnesses,
      {
        "claude-code": { command: [claude] },
        codex: { command: [codex] },
        pi: { command: [pi] },
      },
      "the verified version where the cache has it, else the newest; qwen is on PATH, so it is left to PATH",
    );
    assert.deepEqual(Object.keys(config.agents), [], "no model yet: the agents are written commented out");
    assert.match(
      readFileSync(join(root, "rig.yaml"), "utf8"),
      /^#\s+claude-my-model:\n#\s+harness: claude-code$/m,
    );
  });
});

describe("rig doctor", () => {
  test("a typo prints the file, line, column and the right key, and exits 1", async () => {
    const home = await stack("servers:\n  tiny:\n    runtme: llama.cpp\n    model: models/tiny.gguf\n");
    const result = await rig(["doctor"], { home: home.root });
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /rig\.yaml:5:5: error: servers\.tiny\.runtme: unknown key `runtme`; did you mean `runtime`\?/,
    );
  });

  test("--json lists every problem with level, code and where: missing executable, missing model, taken port", async () => {
    const { createServer } = await import("node:net");
    const blocker = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => blocker.once("listening", resolve));
    const taken = (blocker.address() as { port: number }).port;
    const home = await stack(
      [
        "runtimes:",
        "  mlx: { command: /nonexistent/mlx_lm.server }",
        "servers:",
        "  gone: { runtime: llama.cpp, model: models/missing.gguf }",
        `  busy: { runtime: mlx, model: ./models, port: ${taken} }`,
        "",
      ].join("\n"),
    );
    const result = await rig(["doctor", "--json"], { home: home.root });
    blocker.close();
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      problems: Array<{ level: string; code: string; message: string; where: string | null }>;
    };
    assert.equal(report.ok, false);
    const byCode = new Map(report.problems.map((problem) => [problem.code, problem]));
    assert.match(
      byCode.get("executable-missing")!.message,
      /runtime mlx: `\/nonexistent\/mlx_lm.server` not found.*runtimes\.mlx\.command/,
    );
    assert.equal(byCode.get("executable-missing")!.where, `${home.root}/rig.yaml:4:19`);
    assert.match(
      byCode.get("model-missing")!.message,
      /servers\.gone\.model: model not found: .*missing\.gguf/,
    );
    assert.equal(byCode.get("model-missing")!.where, `${home.root}/rig.yaml:6:38`);
    assert.match(
      byCode.get("port-taken")!.message,
      new RegExp(`port ${taken} is already taken by pid ${process.pid}`),
    );
  });

  test("a clean config passes with exit 0", async () => {
    const home = await stack("servers:\n  r: { runtime: remote, url: http://127.0.0.1:9/v1 }\n");
    const result = await rig(["doctor"], { home: home.root });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /no problems found/);
  });
});

describe("rig ls and rig explain", () => {
  const yaml = [
    "servers:",
    "  qwen:",
    "    runtime: llama.cpp",
    "    model: models/qwen.gguf",
    "    args: [--flash-attn, on, -ngl, 99]",
    "    context: 32768",
    "    port: 8081",
    "    aliases: [q]",
    "    group: big",
    "    ttl: 30m",
    "    env: { LLAMA_ARG_THREADS: '8' }",
    "    request:",
    "      set: { chat_template_kwargs: { enable_thinking: false } }",
    "      defaults: { temperature: 0.6 }",
    "    notes: flash attention measured 1.3x faster here",
    "agents:",
    "  claude-qwen:",
    "    harness: claude-code",
    "    server: q",
    "    request: { drop: [reasoning_effort] }",
    "",
  ].join("\n");

  test("ls --json has the documented shape", async () => {
    const home = await stack(yaml);
    const listing = await rigJson<{ servers: unknown[]; agents: unknown[] }>(["ls"], { home: home.root });
    assert.deepEqual(listing.servers, [
      {
        name: "qwen",
        runtime: "llama.cpp",
        model: join(home.root, "models/qwen.gguf"),
        port: 8081,
        aliases: ["q"],
        group: "big",
        state: "stopped",
      },
    ]);
    assert.deepEqual(listing.agents, [
      {
        name: "claude-qwen",
        harness: "claude-code",
        server: "q",
        shim: join(home.root, "bin", "claude-qwen"),
      },
    ]);
  });

  test("explain prints every hop of an agent, with the argv the launcher will use", async () => {
    const home = await stack(yaml);
    const config = await loadConfig({ home: home.root });
    const expected = launchPlan(config, config.servers.qwen!).process!.argv;
    const facts = await rigJson<{
      shim: { path: string };
      launcher: { argv: string[] };
      agent: { harness: string; server: string; model_id: string };
      server: {
        argv: string[];
        env: Record<string, string>;
        context: number;
        ttl: string;
        group: string;
        notes: string;
      };
      gateway: { url: string };
      request: { server: { set: unknown; defaults: unknown }; agent: { drop: string[] } };
    }>(["explain", "claude-qwen"], { home: home.root });
    assert.equal(facts.shim.path, join(home.root, "bin", "claude-qwen"));
    assert.deepEqual(facts.launcher.argv, ["rig", "run", "claude-qwen"]);
    assert.deepEqual(facts.agent, {
      ...facts.agent,
      harness: "claude-code",
      server: "qwen",
      model_id: "qwen",
    });
    assert.deepEqual(facts.server.argv, expected);
    assert.deepEqual(expected, [
      "llama-server",
      "-m",
      join(home.root, "models/qwen.gguf"),
      "--host",
      "127.0.0.1",
      "--port",
      "8081",
      "--alias",
      "qwen",
      "--ctx-size",
      "32768",
      "--flash-attn",
      "on",
      "-ngl",
      "99",
    ]);
    assert.deepEqual(facts.server.env, {
      LLAMA_ARG_CORS_ORIGINS: "https://rig.invalid",
      LLAMA_ARG_THREADS: "8",
    });
    assert.equal(facts.gateway.url, `${home.url}/agents/claude-qwen`);
    assert.deepEqual(facts.request.agent.drop, ["reasoning_effort"]);
    assert.deepEqual(facts.request.server.set, { chat_template_kwargs: { enable_thinking: false } });

    const text = await rig(["explain", "claude-qwen"], { home: home.root });
    assert.equal(text.code, 0);
    for (const hop of ["1 shim", "2 launcher", "3 agent", "4 gateway", "5 requests", "6 server"])
      assert.ok(text.stdout.includes(hop), hop);
    assert.ok(
      text.stdout.includes(
        `llama-server -m ${join(home.root, "models/qwen.gguf")} --host 127.0.0.1 --port 8081 --alias qwen --ctx-size 32768 --flash-attn on -ngl 99`,
      ),
    );
    assert.ok(text.stdout.includes("flash attention measured 1.3x faster here"));
  });

  test("explain of an unknown name suggests the nearest and exits 1", async () => {
    const home = await stack(yaml);
    const result = await rig(["explain", "claude-qwn"], { home: home.root });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /did you mean `claude-qwen`/);
  });
});

describe("the CLI itself", () => {
  test("--version, --help, and usage errors exit 2", async () => {
    const version = await rig(["--version"]);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const help = await rig(["explain", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /agent or server name/);
    const { NO_COLOR: _, FORCE_COLOR: __, ...colourful } = process.env;
    const piped = spawnSync(process.execPath, [RIG_MAIN, "explain", "--help"], {
      env: colourful,
      encoding: "utf8",
    });
    assert.match(piped.stdout, /agent or server name/);
    assert.ok(!piped.stdout.includes("\x1b["), "help piped anywhere is plain text");
    assert.equal((await rig(["explain"])).code, 2);
    assert.equal((await rig(["no-such-command"])).code, 2);
    assert.equal((await rig([])).code, 2);
  });

  test("rig schema prints a JSON Schema that knows every server key", async () => {
    const schema = JSON.parse((await rig(["schema"])).stdout);
    const server = schema.properties.servers.additionalProperties;
    assert.ok(server.properties.runtime.enum.includes("llama.cpp"));
    assert.equal(server.additionalProperties, false);
  });
});
