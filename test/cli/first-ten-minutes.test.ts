import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, describe, test } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { parse } from "yaml";
import { DEMO_HARNESSES } from "../../src/demo/config.ts";
import { AGENT_PINS } from "../../src/install/agents.ts";
import { freePort } from "../../src/system/ports.ts";
import { fakeAgentInstall, tempCache } from "../support/agent-cache.ts";
import { rig } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";
import { keepsEveryLine } from "../support/lines.ts";

// What a new user meets right after `npm ci && npm run demo`, through the built CLI.

const home = homesForThisFile();
const folders: string[] = [];
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const REMOTE = 'servers:\n  r: { runtime: remote, url: "http://127.0.0.1:9/v1" }\n';

/** A pipe on a terminal that would take colour: nothing tells rig (or citty) to leave colour out. */
const PIPED_WITH_COLOR_TERM = {
  NO_COLOR: undefined,
  FORCE_COLOR: undefined,
  CI: undefined,
  TEST: undefined,
  TERM: "xterm-256color",
};

describe("global options where people type them", () => {
  test("--home and --json before the command work as after it", async () => {
    const { root } = await home(REMOTE);
    const before = await rig(["--home", root, "ls"], { env: { RIG_HOME: "/nonexistent" } });
    const afterCommand = await rig(["ls", "--home", root], { env: { RIG_HOME: "/nonexistent" } });
    assert.equal(before.code, 0, before.stderr);
    assert.equal(before.stdout, afterCommand.stdout);
    assert.match(before.stdout, /^r\s+remote/m);

    const json = await rig(["--json", `--home=${root}`, "ls"], { env: { RIG_HOME: "/nonexistent" } });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(
      (JSON.parse(json.stdout) as { servers: Array<{ name: string }> }).servers.map((server) => server.name),
      ["r"],
    );
  });

  test("between a group and its subcommand too", async () => {
    const { root } = await home(`${REMOTE}agents:\n  pi-r: { harness: pi, server: r }\n`);
    const result = await rig(["--home", root, "shims", "--json", "ls"], {
      env: { RIG_HOME: "/nonexistent" },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(Array.isArray(JSON.parse(result.stdout)), result.stdout);
  });
});

test("run in a home's folder, rig uses that home, as the commands in its AGENTS.md are written", async () => {
  const { root } = await home(REMOTE);
  const here = await rig(["ls", "--json"], { cwd: root, env: { RIG_HOME: "" } });
  assert.equal(here.code, 0, here.stderr);
  assert.deepEqual(
    (JSON.parse(here.stdout) as { servers: Array<{ name: string }> }).servers.map((server) => server.name),
    ["r"],
  );
  const elsewhere = await rig(["ls"], {
    cwd: tmpdir(),
    env: { RIG_HOME: "", HOME: mkdtempSync(join(tmpdir(), "rig-nohome-")) },
  });
  assert.equal(elsewhere.code, 1);
  assert.match(elsewhere.stderr, /no rig\.yaml in .*local-llm: .*or run rig in its folder/);
});

describe("an unknown command", () => {
  test("piped: plain text, the nearest command, exit 2", async () => {
    const result = await rig(["lss"], { env: PIPED_WITH_COLOR_TERM });
    assert.equal(result.code, 2);
    assert.equal(result.stderr, stripVTControlCharacters(result.stderr), "no escape codes in a pipe");
    assert.match(result.stderr, /unknown command `rig lss`; did you mean `rig ls`\?/);
    assert.equal(result.stdout, "");
  });

  test("under a group: the nearest of its subcommands", async () => {
    const result = await rig(["gateway", "strat"], { env: PIPED_WITH_COLOR_TERM });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /did you mean `rig gateway start`\?/);
    assert.match(result.stderr, /see `rig gateway --help`/);
  });

  test("nothing near: no guess, still the way to the list", async () => {
    const result = await rig(["--home", "/tmp", "xyzzyplugh"], { env: PIPED_WITH_COLOR_TERM });
    assert.equal(result.code, 2);
    assert.doesNotMatch(result.stderr, /did you mean/);
    assert.match(result.stderr, /unknown command `rig xyzzyplugh`\nsee `rig --help`/);
  });
});

describe("an option the command does not have, or a word too many", () => {
  test("is a usage error naming it, before anything runs: a typed --hom never acts on the default home", async () => {
    const { root } = await home(REMOTE);
    const typo = await rig(["doctor", "--hom", root], { env: { ...PIPED_WITH_COLOR_TERM, RIG_HOME: root } });
    assert.equal(typo.code, 2);
    assert.equal(typo.stdout, "", "no home was checked");
    assert.match(typo.stderr, /unknown option `--hom`; did you mean `--home`\?\nsee `rig doctor --help`/);
    const extra = await rig(["ls", "extra", "--home", root]);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /unexpected argument `extra`/);
    const agentFlag = await rig(["run", "pi-r", "--yolo", "--home", root]);
    assert.equal(agentFlag.code, 2);
    assert.match(
      agentFlag.stderr,
      /unknown option `--yolo` \(what the agent or runtime takes goes after `--`\)/,
    );
  });
});

test("a subcommand's usage names it as typed, from rig down", async () => {
  for (const [args, usage] of [
    [["add", "server", "--help"], "USAGE rig add server [OPTIONS]"],
    [["worker", "run", "--help"], "USAGE rig worker run [OPTIONS]"],
    [["ls", "--help"], "USAGE rig ls [OPTIONS]"],
  ] as const) {
    const result = await rig([...args]);
    assert.ok(
      result.stdout.includes(usage),
      `${args.join(" ")}: ${result.stdout.split("\n").find((line) => line.startsWith("USAGE"))}`,
    );
  }
});

test("--help lines end where their text ends, piped without colour", async () => {
  for (const args of [
    ["--help"],
    ["install", "--help"],
    ["gateway", "--help"],
    ["add", "server", "--help"],
  ]) {
    const result = await rig(args, { env: PIPED_WITH_COLOR_TERM });
    assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    assert.equal(
      result.stdout,
      stripVTControlCharacters(result.stdout),
      `${args.join(" ")}: no escape codes`,
    );
    const padded = result.stdout.split("\n").filter((line) => /\s$/.test(line));
    assert.deepEqual(padded, [], `${args.join(" ")}: lines with trailing whitespace`);
  }
  const groupAlone = await rig(["gateway"]);
  assert.equal(groupAlone.code, 2, "a group without its subcommand is a usage error");
  assert.match(groupAlone.stdout, /USAGE rig gateway run\|start\|stop\|status/);
});

describe("rig install <agent>", () => {
  test("--list shows every agent rig verified, the version, and what the cache holds", async () => {
    const cache = tempCache();
    folders.push(cache);
    const pi = fakeAgentInstall(cache, "pi", AGENT_PINS.pi!.version);
    fakeAgentInstall(cache, "codex", "0.1.0");
    const result = await rig(["install", "--list", "--json"], { env: { RIG_CACHE: cache } });
    assert.equal(result.code, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as Array<{
      name: string;
      kind: string;
      verified: string;
      installed: string[];
      path: string | null;
    }>;
    const byName = new Map(rows.map((row) => [row.name, row]));
    for (const [name, pin] of Object.entries(AGENT_PINS)) {
      assert.equal(byName.get(name)?.kind, "agent");
      assert.equal(byName.get(name)?.verified, pin.version);
    }
    assert.deepEqual(byName.get("pi")?.installed, [AGENT_PINS.pi!.version]);
    assert.equal(byName.get("pi")?.path, pi);
    assert.deepEqual(byName.get("codex")?.installed, ["0.1.0"]);
    assert.equal(byName.get("codex")?.path, null, "only the verified version counts as rig's install");
    assert.deepEqual(byName.get("opencode")?.installed, []);
    assert.equal(byName.get("llama.cpp")?.kind, "runtime");

    const text = await rig(["install", "--list"], { env: { RIG_CACHE: cache } });
    assert.match(text.stdout, /^opencode\s+agent\s+\S+\s+no\s+rig install opencode$/m);
  });

  test("installs into the cache (a no-op when there) and points harnesses.<name>.command at it, keeping comments", async () => {
    const cache = tempCache();
    folders.push(cache);
    const pi = fakeAgentInstall(cache, "pi", AGENT_PINS.pi!.version);
    const root = join(mkdtempSync(join(tmpdir(), "rig-install-")), "home");
    folders.push(root);
    // init from another, empty cache: a starter that names no agent yet.
    const emptyCache = tempCache();
    folders.push(emptyCache);
    assert.equal((await rig(["init", "--home", root], { env: { RIG_CACHE: emptyCache } })).code, 0);
    const file = join(root, "rig.yaml");
    const starter = readFileSync(file, "utf8");
    // No npm on PATH: a download would fail, so success means nothing was downloaded.
    const env = { RIG_CACHE: cache, PATH: "/nonexistent" };

    const first = await rig(["--home", root, "install", "pi", "--json"], { env });
    assert.equal(first.code, 0, first.stderr);
    const installed = JSON.parse(first.stdout) as {
      version: string;
      path: string;
      cached: boolean;
      config: { key: string; changed: boolean };
    };
    assert.deepEqual(
      [installed.version, installed.path, installed.cached, installed.config.key, installed.config.changed],
      [AGENT_PINS.pi!.version, pi, true, "harnesses.pi.command", true],
    );
    const edited = readFileSync(file, "utf8");
    assert.equal(parse(edited).harnesses.pi.command, pi);
    keepsEveryLine(starter, edited);

    const again = await rig(["install", "pi", "--home", root], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /harnesses\.pi\.command in .*rig\.yaml already names it/);
    assert.equal(readFileSync(file, "utf8"), edited, "nothing rewritten");
  });

  test("an older command for the agent is replaced in place, its comment kept", async () => {
    const cache = tempCache();
    folders.push(cache);
    const pi = fakeAgentInstall(cache, "pi", AGENT_PINS.pi!.version);
    const { root } = await home(`harnesses:\n  pi: { command: pi }   # the one on PATH\n${REMOTE}`);
    const result = await rig(["install", "pi"], { home: root, env: { RIG_CACHE: cache } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /set harnesses\.pi\.command in .*rig\.yaml \(was pi\)/);
    assert.match(
      readFileSync(join(root, "rig.yaml"), "utf8"),
      /^ {2}pi: \{ command: "(.*)" \} {3}# the one on PATH$/m,
    );
    assert.match(readFileSync(join(root, "rig.yaml"), "utf8"), new RegExp(`command: "${pi}"`));
  });

  test("something rig does not install: the nearest name, exit 2", async () => {
    const result = await rig(["install", "claude"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /did you mean `claude-code`\?/);
  });
});

describe("rig doctor and rig's cache", () => {
  test("the demo's home is green: every agent installed and pointed at, shims written", async () => {
    const root = join(mkdtempSync(join(tmpdir(), "rig-demo-")), "demo");
    folders.push(root);
    const setup = await rig(["demo", "--home", root, "--no-run"], { timeoutMs: 600_000 });
    assert.equal(setup.code, 0, setup.stderr);
    const config = parse(readFileSync(join(root, "rig.yaml"), "utf8"));
    for (const name of DEMO_HARNESSES)
      assert.ok(config.harnesses[name]?.command, `harnesses.${name}.command is set`);
    // Port 7878 may be anyone's by the time doctor runs; the demo's choice is not what is tested.
    writeFileSync(
      join(root, "rig.yaml"),
      readFileSync(join(root, "rig.yaml"), "utf8").replace(/port: \d+/, `port: ${await freePort()}`),
    );

    const onPath = await rig(["doctor", "--home", root], {
      env: { PATH: `${join(root, "bin")}${delimiter}${process.env.PATH}` },
    });
    assert.equal(onPath.code, 0, onPath.stdout);
    assert.match(onPath.stdout, /^ok: no problems found$/m);

    const offPath = await rig(["doctor", "--home", root, "--json"]);
    const report = JSON.parse(offPath.stdout) as {
      ok: boolean;
      problems: Array<{ code: string; message: string }>;
    };
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.problems.map((problem) => problem.code),
      ["bin-not-on-path"],
    );
    assert.match(report.problems[0]!.message, new RegExp(`export PATH="${join(root, "bin")}:\\$PATH"`));
  });

  test("an installed agent older or newer than the verified one is a warning; a missing one says what to run", async () => {
    const cache = tempCache();
    folders.push(cache);
    const older = fakeAgentInstall(cache, "pi", "0.1.0");
    const newer = fakeAgentInstall(cache, "codex", "99.0.0");
    const { root } = await home(
      [
        "harnesses:",
        `  pi: { command: ${JSON.stringify(older)} }`,
        `  codex: { command: ${JSON.stringify(newer)} }`,
        REMOTE,
        "agents:",
        "  pi-r: { harness: pi, server: r }",
        "  codex-r: { harness: codex, server: r }",
        "  opencode-r: { harness: opencode, server: r }",
        "",
      ].join("\n"),
    );
    const env = { RIG_CACHE: cache, PATH: `${join(root, "bin")}${delimiter}/usr/bin:/bin` };
    await rig(["shims", "sync"], { home: root, env });
    const result = await rig(["doctor", "--json"], { home: root, env });
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      problems: Array<{ level: string; code: string; message: string; where: string | null }>;
    };
    const messages = report.problems.map((problem) => `${problem.level} ${problem.code}: ${problem.message}`);
    assert.deepEqual(
      messages.filter((message) => /agent-version/.test(message)),
      [
        `warning agent-version: agent CLI pi is 0.1.0, older than the ${AGENT_PINS.pi!.version} rig verified (agents change their requests between versions); \`rig install pi\` installs ${AGENT_PINS.pi!.version}`,
        `warning agent-version: agent CLI codex is 99.0.0, newer than the ${AGENT_PINS.codex!.version} rig verified (agents change their requests between versions); \`rig install codex\` installs ${AGENT_PINS.codex!.version}`,
      ],
    );
    assert.match(
      messages.find((message) => message.includes("opencode")) ?? "",
      /^error executable-missing: agent CLI opencode: `opencode` not found on PATH; .*`rig install opencode` installs \S+, the version rig verified$/,
    );
    assert.equal(report.ok, false);
    assert.equal(result.code, 1);

    fakeAgentInstall(cache, "pi", AGENT_PINS.pi!.version);
    const cached = await rig(["doctor"], { home: root, env });
    assert.match(
      cached.stdout,
      new RegExp(
        `\`rig install pi\` points this home at ${AGENT_PINS.pi!.version} in rig's cache, without downloading`,
      ),
    );
  });

  test("an agent CLI missing from PATH but in rig's cache: doctor says which command points the home at it", async () => {
    const cache = tempCache();
    folders.push(cache);
    fakeAgentInstall(cache, "claude-code", AGENT_PINS["claude-code"]!.version);
    const codex = fakeAgentInstall(cache, "codex", "0.1.0");
    const { root } = await home(
      `${REMOTE}agents:\n  claude-r: { harness: claude-code, server: r }\n  codex-r: { harness: codex, server: r }\n`,
    );
    const result = await rig(["doctor", "--json"], {
      home: root,
      env: { RIG_CACHE: cache, PATH: "/usr/bin:/bin" },
    });
    assert.equal(result.code, 1);
    const missing = (
      JSON.parse(result.stdout) as { problems: Array<{ code: string; message: string }> }
    ).problems
      .filter((problem) => problem.code === "executable-missing")
      .map((problem) => problem.message);
    assert.deepEqual(missing, [
      `agent CLI claude-code: \`claude\` not found on PATH; install it or set harnesses.claude-code.command; \`rig install claude-code\` points this home at ${AGENT_PINS["claude-code"]!.version} in rig's cache, the version rig verified, without downloading`,
      `agent CLI codex: \`codex\` not found on PATH; install it or set harnesses.codex.command; \`rig install codex\` installs ${AGENT_PINS.codex!.version}, the version rig verified; or set harnesses.codex.command to ${codex} (0.1.0, in rig's cache)`,
    ]);
  });
});
