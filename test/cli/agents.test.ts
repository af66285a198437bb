import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { RIG_MAIN, rig, rigJson } from "../support/cli.ts";
import { makeHome, type TestHome } from "../support/home.ts";
import { scriptedServer } from "../support/stack.ts";

const FAKE_AGENT = fileURLToPath(new URL("../support/fake-agent.mjs", import.meta.url));
const homes: TestHome[] = [];
after(async () => {
  for (const home of homes) await home.cleanup();
});

async function stack(agents: string, extra = ""): Promise<TestHome> {
  const home = await makeHome(
    [
      "harnesses:",
      `  claude-code: { command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(FAKE_AGENT)}] }`,
      "servers:",
      scriptedServer("echo", {}, "context: 32768"),
      "agents:",
      agents,
      extra,
    ].join("\n"),
  );
  homes.push(home);
  return home;
}

describe("rig run", () => {
  test("--dry-run --json prints the command, args, env and files; agent args and env come last, then the args after --", async () => {
    const home = await stack(
      "  claude-echo: { harness: claude-code, server: echo, args: [--verbose], env: { EXTRA: '1' } }\n  pi-echo: { harness: pi, server: echo }",
    );
    const printed = await rig(["run", "claude-echo", "--dry-run", "--json", "--", "-p", "hello"], {
      home: home.root,
    });
    const launch = JSON.parse(printed.stdout) as {
      command: string;
      args: string[];
      env: Record<string, string>;
      files: unknown[];
    };
    assert.equal(launch.command, process.execPath);
    assert.deepEqual(launch.args, [FAKE_AGENT, "--verbose", "-p", "hello"]);
    assert.equal(launch.env.ANTHROPIC_BASE_URL, `${home.url}/agents/claude-echo`);
    assert.equal(launch.env.CLAUDE_CODE_AUTO_COMPACT_WINDOW, "32768");
    assert.equal(launch.env.EXTRA, "1");
    const pi = await rigJson<{ files: Array<{ path: string }> }>(["run", "pi-echo", "--dry-run"], {
      home: home.root,
    });
    assert.equal(pi.files[0]!.path, join(home.root, "state", "harnesses", "pi-echo", "models.json"));
    assert.equal(existsSync(pi.files[0]!.path), false, "a dry run writes nothing");
  });

  test("starts the gateway and the server, runs the agent against its pinned route, and exits with the agent's code", async () => {
    const home = await stack("  claude-echo: { harness: claude-code, server: echo }");
    const result = await rig(["run", "claude-echo", "--", "say", "hi"], {
      home: home.root,
      env: { FAKE_EXIT: "3" },
    });
    assert.equal(result.code, 3, result.stderr);
    const output = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual(output.argv, ["say", "hi"]);
    assert.equal(output.status, 200);
    assert.equal(
      output.text,
      "hello from the scripted upstream",
      "the agent's Messages request was translated for the chat-only server",
    );
    const ok = await rig(["run", "claude-echo"], { home: home.root });
    assert.equal(ok.code, 0);
  });

  test("a signal sent to rig run reaches the agent, and rig exits with the agent's code", async () => {
    const home = await stack("  claude-sig: { harness: claude-code, server: echo }");
    const agent = join(home.root, "signal-agent.mjs");
    writeFileSync(
      agent,
      [
        'process.on("SIGTERM", () => { console.log("agent got SIGTERM"); process.exit(42); });',
        'console.log("agent ready");',
        "setInterval(() => {}, 1000);",
      ].join("\n"),
    );
    writeFileSync(
      join(home.root, "rig.yaml"),
      readFileSync(join(home.root, "rig.yaml"), "utf8").replace(
        JSON.stringify(FAKE_AGENT),
        JSON.stringify(agent),
      ),
    );
    const child = spawn(process.execPath, [RIG_MAIN, "run", "claude-sig"], {
      env: { ...process.env, RIG_HOME: home.root, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("agent ready")) child.kill("SIGTERM");
    });
    const code = await new Promise<number | null>((resolve) =>
      child.on("exit", (exitCode) => resolve(exitCode)),
    );
    assert.match(stdout, /agent got SIGTERM/);
    assert.equal(code, 42);
  });

  test("a missing agent CLI names the key to set", async () => {
    const home = await stack("  codex-echo: { harness: codex, server: echo }", "");
    writeFileSync(
      join(home.root, "rig.yaml"),
      readFileSync(join(home.root, "rig.yaml"), "utf8").replace(
        "harnesses:\n",
        "harnesses:\n  codex: { command: /nowhere/codex }\n",
      ),
    );
    const result = await rig(["run", "codex-echo"], { home: home.root });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /agent CLI codex: `\/nowhere\/codex` not found; install it or set harnesses\.codex\.command in rig\.yaml; `rig install codex` installs the version rig verified/,
    );
  });

  test("a server named where an agent goes says to serve it instead", async () => {
    const home = await stack("  codex-echo: { harness: codex, server: echo }", "");
    const result = await rig(["run", "echo"], { home: home.root });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no agent named `echo`; `echo` is a server: `rig serve echo` starts it/);
  });
});

describe("rig shims", () => {
  test("sync writes one marked command per agent and WRAPPERS.md; the command runs the agent through rig", async () => {
    const home = await stack(
      "  claude-echo: { harness: claude-code, server: echo }\n  qwen-echo: { harness: qwen-code, server: echo }",
    );
    const result = await rigJson<{ actions: Array<{ kind: string; path: string }> }>(["shims", "sync"], {
      home: home.root,
    });
    assert.deepEqual(
      result.actions.map((action) => `${action.kind} ${action.path.split("/").pop()}`).sort(),
      ["write WRAPPERS.md", "write claude-echo", "write qwen-echo"],
    );
    const shim = readFileSync(join(home.root, "bin", "claude-echo"), "utf8");
    assert.match(shim, /^#!\/bin\/sh\n# rig shim: written by `rig shims sync`/);
    assert.match(shim, new RegExp(`run --home ${home.root} claude-echo -- "\\$@"\\n$`));
    assert.match(
      readFileSync(join(home.root, "bin", "WRAPPERS.md"), "utf8"),
      /\| `claude-echo` \| claude-code \| echo \| command \|/,
    );
    // Whatever RIG_HOME says, the shim runs in its own home, and every word after it reaches the agent.
    const viaShim = await new Promise<string>((resolve) =>
      execFile(
        join(home.root, "bin", "claude-echo"),
        ["--print", "say hi"],
        { env: { ...process.env, RIG_HOME: "/nonexistent" } },
        (_error, stdout) => resolve(stdout),
      ),
    );
    const ran = JSON.parse(viaShim) as { argv: string[]; status: number };
    assert.deepEqual(ran.argv.slice(-2), ["--print", "say hi"]);
    assert.equal(ran.status, 200);
    const listed = await rigJson<Array<{ agent: string; state: string }>>(["shims", "ls"], {
      home: home.root,
    });
    assert.deepEqual(listed.map((row) => `${row.agent}:${row.state}`).sort(), [
      "claude-echo:ok",
      "qwen-echo:ok",
    ]);
  });

  test("never overwrites a file it did not write; removes its own shims of agents that are gone", async () => {
    const home = await stack(
      "  claude-echo: { harness: claude-code, server: echo }\n  qwen-echo: { harness: qwen-code, server: echo }",
    );
    mkdirSync(join(home.root, "bin"));
    home.write("bin/claude-echo", "#!/bin/sh\necho mine\n");
    const first = await rig(["shims", "sync"], { home: home.root });
    assert.equal(first.code, 1);
    assert.match(first.stdout, /skipped .*claude-echo: it was not written by rig/);
    assert.equal(readFileSync(join(home.root, "bin", "claude-echo"), "utf8"), "#!/bin/sh\necho mine\n");
    const file = join(home.root, "rig.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace("  qwen-echo: { harness: qwen-code, server: echo }\n", ""),
    );
    const second = await rig(["shims", "sync"], { home: home.root });
    assert.match(second.stdout, /removed .*qwen-echo \(agent qwen-echo is gone\)/);
    assert.equal(existsSync(join(home.root, "bin", "qwen-echo")), false);
    assert.equal(existsSync(join(home.root, "bin", "claude-echo")), true);
  });

  test("doctor warns about missing commands and a bin folder that is not on PATH", async () => {
    const home = await stack("  claude-echo: { harness: claude-code, server: echo }");
    const report = JSON.parse(
      (await rig(["doctor", "--json"], { home: home.root, env: { PATH: "/usr/bin:/bin" } })).stdout,
    ) as { problems: Array<{ code: string }> };
    const codes = report.problems.map((problem) => problem.code);
    assert.ok(codes.includes("shim-missing"));
    assert.ok(codes.includes("bin-not-on-path"));
  });
});
