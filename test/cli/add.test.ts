import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parse } from "yaml";
import { agentBin } from "../../scripts/install-agents.mjs";
import { withHarnessCommand } from "../../src/cli/agent-install.ts";
import { AGENT_PINS } from "../../src/install/agents.ts";
import { freePort } from "../../src/system/ports.ts";
import { sleep } from "../../src/system/process.ts";
import { fakeAgentInstall, tempCache } from "../support/agent-cache.ts";
import { rig } from "../support/cli.ts";
import { makeHome } from "../support/home.ts";
import { keepsEveryLine } from "../support/lines.ts";
import { tinyModel } from "../support/llama.ts";
import { mlxFolder, writeModelGguf } from "../support/model-trees.ts";

const homes: string[] = [];
after(async () => {
  for (const home of homes) {
    await rig(["gateway", "stop"], { home });
    rmSync(home, { recursive: true, force: true });
  }
});

/** A home as `rig init` writes it (the commented starter), made safe for a test: its own port and bin. */
async function initHome(): Promise<string> {
  const home = join(mkdtempSync(join(tmpdir(), "rig-add-")), "home");
  homes.push(home);
  const init = await rig(["init", "--home", home]);
  assert.equal(init.code, 0, init.stderr);
  const file = join(home, "rig.yaml");
  const starter = readFileSync(file, "utf8")
    .replace("port: 7878", `port: ${await freePort()}`)
    .replace("bin: ~/.local/bin", "bin: bin");
  // init names the cached Claude Code when rig's cache has it; the first test needs it named either way.
  writeFileSync(file, withHarnessCommand(starter, "claude-code", agentBin("claude-code")));
  return home;
}

function runShim(path: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path,
      args,
      { env: { ...process.env, CI: "1", RIG_HOME: "/nonexistent" }, timeout: 240_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("rig add", () => {
  test("server + agent on a commented starter give a working one-word command, every comment kept", async () => {
    const home = await initHome();
    const file = join(home, "rig.yaml");
    const before = readFileSync(file, "utf8");
    const model = await tinyModel({ endsTurns: true });

    const server = await rig(
      ["add", "server", "tiny", "--model", model, "--", "--threads", "2", "--parallel", "2"],
      {
        home,
      },
    );
    assert.equal(server.code, 0, server.stderr);
    assert.match(server.stdout, /added to .*rig\.yaml:\d+:3/);
    assert.match(server.stdout, /context 65536 is the model's trained context/);
    const afterServer = readFileSync(file, "utf8");
    keepsEveryLine(before, afterServer);
    assert.equal(readFileSync(`${file}.bak`, "utf8"), before, "the backup is the file as it was");
    assert.deepEqual(parse(afterServer).servers.tiny, {
      runtime: "llama.cpp",
      model: model.startsWith(homedir()) ? `~${model.slice(homedir().length)}` : model,
      args: ["--threads", 2, "--parallel", 2],
      context: 65536,
    });

    const agent = await rig(["add", "agent", "claude-tiny", "--harness", "claude-code", "--server", "tiny"], {
      home,
    });
    assert.equal(agent.code, 0, agent.stderr);
    keepsEveryLine(afterServer, readFileSync(file, "utf8"));
    const shim = join(home, "bin", "claude-tiny");
    assert.match(agent.stdout, new RegExp(`command ${shim}`));

    const docs = readFileSync(join(home, "docs", "STACK.md"), "utf8");
    assert.match(docs, /### claude-tiny/, "the docs know the new agent");

    const answer = await runShim(shim, ["-p", "say hi", "--output-format", "json"]);
    assert.equal(answer.code, 0, `${answer.stdout.slice(-1500)}\n${answer.stderr.slice(-1500)}`);
    assert.equal(JSON.parse(answer.stdout).type, "result", "Claude Code answered through the tiny model");
    let log = "";
    for (let i = 0; i < 30 && !log.includes("agent=claude-tiny status=200"); i++) {
      await sleep(100);
      log = readFileSync(join(home, "logs", "gateway.log"), "utf8");
    }
    assert.match(log, /POST \/agents\/claude-tiny\/v1\/messages server=tiny agent=claude-tiny status=200/);
  });

  test("infers mlx from an MLX folder and writes paths inside the home relative to it", async () => {
    const home = await initHome();
    mlxFolder(join(home, "models", "qwen-mlx"));
    const result = await rig(
      ["add", "server", "qwen", "--model", join(home, "models", "qwen-mlx"), "--json"],
      { home },
    );
    assert.equal(result.code, 0, result.stderr);
    const added = JSON.parse(result.stdout);
    assert.deepEqual(added.entry, { runtime: "mlx", model: "models/qwen-mlx", context: 40960 });
    assert.equal(parse(readFileSync(join(home, "rig.yaml"), "utf8")).servers.qwen.runtime, "mlx");
  });

  test("--context takes tokens as people write them (32k is 32768); words are refused, saying how", async () => {
    const home = await initHome();
    mlxFolder(join(home, "models", "qwen-mlx"));
    const model = join(home, "models", "qwen-mlx");
    const result = await rig(["add", "server", "qwen", "--model", model, "--context", "32k", "--json"], {
      home,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).entry.context, 32768);
    const wrong = await rig(["add", "server", "other", "--model", model, "--context", "lots"], { home });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--context takes a number of tokens: 32768, or 32k \(k is 1024\); not lots/);
  });

  test("a name that exists, an invalid result, or a missing file is an error and leaves rig.yaml alone", async () => {
    const home = await initHome();
    const file = join(home, "rig.yaml");
    writeModelGguf(join(home, "models", "m.gguf"), { dense: true, context: 4096 });
    assert.equal(
      (await rig(["add", "server", "m", "--model", join(home, "models", "m.gguf")], { home })).code,
      0,
    );
    const before = readFileSync(file, "utf8");
    rmSync(`${file}.bak`);

    const taken = await rig(["add", "server", "m", "--model", join(home, "models", "m.gguf")], { home });
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /`m` is already used by servers\.m \(.*rig\.yaml:\d+:3\); pick another name/);

    const gatewayPort = parse(before).gateway.port;
    const clash = await rig(
      ["add", "server", "m2", "--model", join(home, "models", "m.gguf"), "--port", String(gatewayPort)],
      {
        home,
      },
    );
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /port \d+ is the gateway's port/);

    const missing = await rig(["add", "server", "x", "--model", join(home, "models", "nope.gguf")], { home });
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /no file or folder at .*nope\.gguf; for a registry id or tag .* pass --runtime/,
    );

    const harness = await rig(["add", "agent", "a", "--harness", "claud-code", "--server", "m"], { home });
    assert.equal(harness.code, 2);
    assert.match(harness.stderr, /unknown harness `claud-code`; did you mean `claude-code`\?/);
    const server = await rig(["add", "agent", "a", "--harness", "codex", "--server", "mm"], { home });
    assert.equal(server.code, 1);
    assert.match(server.stderr, /no server `mm`; did you mean `m`\?/);
    const far = await rig(["add", "agent", "a", "--harness", "codex", "--server", "nope"], { home });
    assert.equal(far.code, 1, "a server that is not there is an error in rig.yaml's terms, as for rig serve");
    assert.match(
      far.stderr,
      /no server `nope` \(rig\.yaml has m\); name one of those, or add it first: rig add server nope --model PATH/,
    );

    const dry = await rig(["add", "agent", "a", "--harness", "codex", "--server", "m", "--dry-run"], {
      home,
    });
    assert.equal(dry.code, 0);
    assert.match(dry.stdout, /would add to .*\na: \{ harness: codex, server: m \}/);

    assert.equal(readFileSync(file, "utf8"), before, "rig.yaml untouched");
    assert.ok(!existsSync(`${file}.bak`), "no backup when nothing was written");
  });

  test("a registry tag or a remote URL needs --runtime, and then is written as given", async () => {
    const home = await initHome();
    const result = await rig(
      ["add", "server", "llama3", "--model", "llama3:8b", "--runtime", "ollama", "--json"],
      { home },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).entry, { runtime: "ollama", model: "llama3:8b" });
    const remote = await rig(
      ["add", "server", "far", "--model", "http://10.0.0.2:8000/v1", "--runtime", "remote", "--json"],
      { home },
    );
    assert.equal(remote.code, 0, remote.stderr);
    assert.deepEqual(JSON.parse(remote.stdout).entry, { runtime: "remote", url: "http://10.0.0.2:8000/v1" });
  });

  test("an agent whose CLI is only in rig's cache gets harnesses.<h>.command in the same edit; PATH wins; nowhere says what installs it", async (t) => {
    const cache = tempCache();
    const claude = fakeAgentInstall(cache, "claude-code", AGENT_PINS["claude-code"]!.version);
    const codex = fakeAgentInstall(cache, "codex", "0.1.0");
    const bin = mkdtempSync(join(tmpdir(), "rig-add-path-"));
    writeFileSync(join(bin, "pi"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const { root: home } = await makeHome(
      'servers:\n  r: { runtime: remote, url: "http://127.0.0.1:9/v1" }\n',
    );
    homes.push(home);
    t.after(() => {
      for (const folder of [cache, bin]) rmSync(folder, { recursive: true, force: true });
    });
    const env = { RIG_CACHE: cache, PATH: `${bin}:/usr/bin:/bin` };
    const file = join(home, "rig.yaml");
    const before = readFileSync(file, "utf8");

    const added = await rig(["add", "agent", "claude-r", "--harness", "claude-code", "--server", "r"], {
      home,
      env,
    });
    assert.equal(added.code, 0, added.stderr);
    assert.match(
      added.stdout,
      new RegExp(
        `note: \`claude\` is not on PATH: set harnesses\\.claude-code\\.command to ${claude} \\(${AGENT_PINS["claude-code"]!.version} in rig's cache, the version rig verified\\)`,
      ),
    );
    const edited = readFileSync(file, "utf8");
    assert.equal(parse(edited).harnesses["claude-code"].command, claude);
    assert.deepEqual(parse(edited).agents["claude-r"], { harness: "claude-code", server: "r" });
    assert.equal(readFileSync(`${file}.bak`, "utf8"), before, "one edit: the backup is the file before both");
    keepsEveryLine(before, edited);
    const doctor = await rig(["doctor", "--json"], { home, env });
    const problems = (JSON.parse(doctor.stdout) as { problems: Array<{ code: string; message: string }> })
      .problems;
    assert.deepEqual(
      problems.filter((problem) => problem.code === "executable-missing"),
      [],
      "the agent runs as added",
    );

    const older = await rig(["add", "agent", "codex-r", "--harness", "codex", "--server", "r", "--json"], {
      home,
      env,
    });
    assert.equal(older.code, 0, older.stderr);
    assert.deepEqual(JSON.parse(older.stdout).harnessCommand, { harness: "codex", command: codex });
    assert.equal(parse(readFileSync(file, "utf8")).harnesses.codex.command, codex);

    const onPath = await rig(["add", "agent", "pi-r", "--harness", "pi", "--server", "r"], { home, env });
    assert.equal(onPath.code, 0, onPath.stderr);
    assert.doesNotMatch(onPath.stdout, /is not on PATH/);
    assert.equal(
      parse(readFileSync(file, "utf8")).harnesses.pi,
      undefined,
      "the pi on PATH is the one it runs",
    );

    const nowhere = await rig(["add", "agent", "qwen-r", "--harness", "qwen-code", "--server", "r"], {
      home,
      env,
    });
    assert.equal(nowhere.code, 0, nowhere.stderr);
    assert.match(
      nowhere.stdout,
      new RegExp(
        `note: \`qwen\` is not on PATH: \`rig install qwen-code\` installs ${AGENT_PINS["qwen-code"]!.version}, the version rig verified, or set harnesses\\.qwen-code\\.command`,
      ),
    );
    assert.equal(parse(readFileSync(file, "utf8")).harnesses["qwen-code"], undefined);
  });
});
