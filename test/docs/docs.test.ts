import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { stackSchema } from "../../src/docs/schema.ts";
import { sleep } from "../../src/system/process.ts";
import { RIG_MAIN, rig } from "../support/cli.ts";
import { homesForThisFile, type TestHome } from "../support/home.ts";
import { llamaServer, tinyModel } from "../support/llama.ts";
import { writeModelGguf } from "../support/model-trees.ts";

const newHome = homesForThisFile();
const GOLDEN = fileURLToPath(new URL("./golden/", import.meta.url));
const SECRETS = { RIG_TEST_KEY: "sk-test-0123456789abcdef", RIG_TEST_TOKEN: "hf_secret_token_value" };

const STACK_YAML = `runtimes:
  llama.cpp: { command: llama-server }
servers:
  qwen:
    runtime: llama.cpp
    model: models/qwen.gguf
    args: [--flash-attn, on]
    env: { HF_TOKEN: "\${env:RIG_TEST_TOKEN}" }
    context: 32768
    aliases: [q]
    ttl: 30m
    group: big
    request:
      set: { chat_template_kwargs: { enable_thinking: false } }
      defaults: { temperature: 0.7 }
      drop: [reasoning_effort]
    notes: flash attention measured 1.3x faster here
  gone: { runtime: llama.cpp, model: models/gone.gguf }
  far: { runtime: remote, url: "http://10.0.0.2:8000/v1" }
agents:
  claude-qwen: { harness: claude-code, server: qwen, notes: the daily driver }
  codex-qwen: { harness: codex, server: q }
`;

async function stackHome(): Promise<TestHome> {
  const home = await newHome(STACK_YAML, { gateway: ', api_key: "${env:RIG_TEST_KEY}"' });
  writeModelGguf(join(home.root, "models", "qwen.gguf"), { dense: true, name: "qwen", arch: "qwen2" });
  return home;
}

/** The home and port differ per run; everything else must be byte for byte the same. */
const normalise = (text: string, home: TestHome) =>
  text.replaceAll(home.root, "<home>").replaceAll(`:${home.port}`, ":<port>");

function matchesGolden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(path, actual);
  }
  assert.equal(
    actual,
    readFileSync(path, "utf8"),
    `${name} differs from test/docs/golden (UPDATE_GOLDEN=1 rewrites it)`,
  );
}

describe("rig docs", () => {
  test("writes STACK.md, stack.json and AGENTS.md deterministically, with secrets shown as their references", async () => {
    const home = await stackHome();
    const first = await rig(["docs", "--json"], { home: home.root, env: SECRETS });
    assert.equal(first.code, 0, first.stderr);
    const read = (file: string) => readFileSync(join(home.root, file), "utf8");
    const stackMd = read("docs/STACK.md");
    const stackJson = read("docs/stack.json");
    const agentsMd = read("AGENTS.md");
    matchesGolden("STACK.md", normalise(stackMd, home));
    matchesGolden("AGENTS.md", normalise(agentsMd, home));

    for (const secret of Object.values(SECRETS)) {
      assert.ok(
        !stackMd.includes(secret) && !stackJson.includes(secret) && !agentsMd.includes(secret),
        secret,
      );
    }
    assert.match(stackMd, /HF_TOKEN=\$\{env:RIG_TEST_TOKEN\}/);

    const facts = stackSchema.parse(JSON.parse(stackJson));
    const qwen = facts.servers.find((server) => server.name === "qwen")!;
    assert.equal(qwen.model_file?.exists, true);
    assert.equal(qwen.model_file?.size, readFileSync(join(home.root, "models", "qwen.gguf")).length);
    assert.equal(facts.servers.find((server) => server.name === "gone")!.model_file?.exists, false);
    assert.deepEqual(qwen.agents, ["claude-qwen", "codex-qwen"]);
    assert.deepEqual(JSON.parse(read("docs/stack.schema.json")).required.includes("servers"), true);

    rmSync(join(home.root, "state", "docs.stamp"));
    const second = await rig(["docs", "--json"], { home: home.root, env: SECRETS });
    const states = JSON.parse(second.stdout).map((action: { state: string }) => action.state);
    assert.deepEqual(states, ["unchanged", "unchanged", "unchanged", "unchanged"], "same config, same bytes");
    assert.equal((await rig(["docs", "--check"], { home: home.root, env: SECRETS })).code, 0);
  });

  test("any command regenerates the docs after rig.yaml changes; --check says when they are stale", async () => {
    const home = await newHome("servers:\n  a: { runtime: remote, url: 'http://127.0.0.1:9/v1' }\n");
    assert.equal((await rig(["ls"], { home: home.root })).code, 0);
    assert.match(readFileSync(join(home.root, "docs", "STACK.md"), "utf8"), /### a\n/);

    writeFileSync(
      join(home.root, "rig.yaml"),
      `${readFileSync(join(home.root, "rig.yaml"), "utf8")}  b: { runtime: remote, url: 'http://127.0.0.1:9/v1' }\n`,
    );
    const check = await rig(["docs", "--check"], { home: home.root });
    assert.equal(check.code, 1);
    assert.match(check.stdout, /out of date {2}.*STACK\.md/);
    assert.equal((await rig(["ps", "--all", "--json"], { home: home.root })).code, 0);
    assert.match(readFileSync(join(home.root, "docs", "STACK.md"), "utf8"), /### b\n/);
  });

  test("a docs file rig cannot write does not stop a command", async () => {
    const home = await newHome("servers:\n  a: { runtime: remote, url: 'http://127.0.0.1:9/v1' }\n");
    mkdirSync(join(home.root, "docs", "STACK.md"), { recursive: true });
    const result = await rig(["ls", "--json"], { home: home.root });
    assert.equal(result.code, 0);
    assert.equal(JSON.parse(result.stdout).servers[0].name, "a");
    assert.match(result.stderr, /docs: not regenerated: .*STACK\.md/);
  });

  test("rig add keeps its edit when the docs cannot be written, and says so", async () => {
    const home = await newHome("servers:\n  a: { runtime: remote, url: 'http://127.0.0.1:9/v1' }\n");
    assert.equal((await rig(["docs"], { home: home.root })).code, 0);
    rmSync(join(home.root, "docs", "STACK.md"));
    mkdirSync(join(home.root, "docs", "STACK.md"));
    const added = await rig(["add", "agent", "b", "--harness", "codex", "--server", "a", "--json"], {
      home: home.root,
    });
    assert.equal(added.code, 0, added.stderr);
    assert.equal(JSON.parse(added.stdout).written, true);
    assert.match(readFileSync(join(home.root, "rig.yaml"), "utf8"), /^ {2}b:/m);
    assert.match(added.stderr, /docs: not regenerated: .*STACK\.md/);
  });

  test("the daemon regenerates the docs when rig.yaml changes under it", async () => {
    const home = await newHome("servers:\n  a: { runtime: remote, url: 'http://127.0.0.1:9/v1' }\n");
    assert.equal((await rig(["gateway", "start"], { home: home.root })).code, 0);
    writeFileSync(
      join(home.root, "rig.yaml"),
      `${readFileSync(join(home.root, "rig.yaml"), "utf8")}  c: { runtime: remote, url: 'http://127.0.0.1:9/v1' }\n`,
    );
    let stack = "";
    for (let i = 0; i < 50 && !stack.includes("### c\n"); i++) {
      await sleep(100);
      stack = existsSync(join(home.root, "docs", "STACK.md"))
        ? readFileSync(join(home.root, "docs", "STACK.md"), "utf8")
        : "";
    }
    assert.match(stack, /### c\n/);
  });

  test("never overwrites an AGENTS.md or STACK.md it did not write; fills only its block when asked to", async () => {
    const home = await newHome("servers:\n  a: { runtime: remote, url: 'http://127.0.0.1:9/v1' }\n");
    const mine = "# My own agent notes\n\nUse tabs.\n";
    home.write("AGENTS.md", mine);
    mkdirSync(join(home.root, "docs"));
    home.write("docs/STACK.md", "my stack notes\n");
    const result = await rig(["docs"], { home: home.root });
    assert.equal(result.code, 0);
    assert.match(
      result.stdout,
      /skipped yours, not rig's: put the lines `<!-- rig:begin -->` and `<!-- rig:end -->`.*AGENTS\.md/,
    );
    assert.match(result.stdout, /skipped not written by rig.*STACK\.md/);
    assert.equal(readFileSync(join(home.root, "AGENTS.md"), "utf8"), mine);
    assert.equal(readFileSync(join(home.root, "docs", "STACK.md"), "utf8"), "my stack notes\n");

    home.write("AGENTS.md", `${mine}\n<!-- rig:begin -->\n<!-- rig:end -->\n\nMore of mine.\n`);
    assert.equal((await rig(["docs"], { home: home.root })).code, 0);
    const agents = readFileSync(join(home.root, "AGENTS.md"), "utf8");
    assert.ok(agents.startsWith(`${mine}\n<!-- rig:begin`));
    assert.ok(agents.endsWith("<!-- rig:end -->\n\nMore of mine.\n"));
    assert.match(agents, /# Operating this local-LLM stack/);
  });

  test("an agent can start, verify and stop a server with the commands the docs give", async () => {
    const model = await tinyModel();
    const home = await newHome(
      [
        "runtimes:",
        `  llama.cpp: { command: ${JSON.stringify(llamaServer())} }`,
        "servers:",
        `  tiny: { runtime: llama.cpp, model: ${JSON.stringify(model)}, context: 4096, args: [--threads, 2] }`,
        "",
      ].join("\n"),
    );
    assert.equal((await rig(["docs"], { home: home.root })).code, 0);
    const facts = stackSchema.parse(JSON.parse(readFileSync(join(home.root, "docs", "stack.json"), "utf8")));
    const tiny = facts.servers.find((server) => server.name === "tiny")!;
    const stackMd = readFileSync(join(home.root, "docs", "STACK.md"), "utf8");
    for (const command of Object.values(tiny.commands)) assert.ok(stackMd.includes(command), command);

    // `rig` on PATH, as for a person who installed it; the commands run exactly as written.
    const bin = join(home.root, "path-bin");
    mkdirSync(bin);
    writeFileSync(
      join(bin, "rig"),
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(RIG_MAIN)} "$@"\n`,
    );
    chmodSync(join(bin, "rig"), 0o755);
    const sh = (command: string) =>
      new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(
          "sh",
          ["-c", command],
          {
            env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, RIG_HOME: home.root, NO_COLOR: "1" },
            timeout: 120_000,
          },
          (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
        ),
      );
    const state = async () =>
      (JSON.parse((await sh(tiny.commands.status)).stdout) as { name: string; state: string }[]).find(
        (server) => server.name === "tiny",
      )?.state;

    assert.equal(await state(), "stopped");
    assert.equal((await sh(tiny.commands.start)).code, 0);
    assert.equal(await state(), "ready");
    const check = await sh(tiny.commands.check);
    assert.equal(check.code, 0);
    assert.equal(JSON.parse(check.stdout).object, "chat.completion");
    assert.match((await sh(tiny.commands.logs)).stdout, /llama|server|HTTP/i);
    assert.equal((await sh(tiny.commands.stop)).code, 0);
    assert.equal(await state(), "stopped");
  });
});
