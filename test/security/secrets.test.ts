import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadConfig } from "../../src/config/loader.ts";
import { ConfigError } from "../../src/config/problems.ts";
import { redactSecrets } from "../../src/config/secrets.ts";
import { ledgerLaunchEvents } from "../../src/gateway/recorder.ts";
import { HARNESSES } from "../../src/harnesses/index.ts";
import { Ledger } from "../../src/ledger/ledger.ts";
import { WriteFailures } from "../../src/ledger/write-failures.ts";
import { rig, rigJson } from "../support/cli.ts";
import { makeHome, type TestHome } from "../support/home.ts";
import { scriptedServer } from "../support/stack.ts";

// Values long enough to be told apart from ordinary text (rig shows values of 8 characters or more
// by reference), and found nowhere else in a home.
const SECRETS = {
  RIG_TEST_GATEWAY_KEY: "gw-key-5f3a9c1e7b",
  RIG_TEST_ARG_SECRET: "arg-secret-0d4e8b2a",
  RIG_TEST_ENV_SECRET: "env-secret-9a7c3f10",
};
const LITERAL_KEY = "literal-key-61be04d2";
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

function folder(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "rig-secrets-"));
  mkdirSync(join(root, "state"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text);
  return root;
}

const assertHidden = (text: string, where: string) => {
  for (const secret of [...Object.values(SECRETS), LITERAL_KEY])
    assert.ok(!text.includes(secret), `${where} shows ${secret}:\n${text}`);
};

describe("secrets on disk and in records (in process)", () => {
  test("the config cache holding a literal api_key is readable by its owner only", async () => {
    const root = folder({ "rig.yaml": `gateway: { port: 7999, api_key: ${LITERAL_KEY} }\n` });
    await loadConfig({ home: root, env: { HOME: homedir() } });
    const cache = join(root, "state", "config.cache.json");
    assert.ok(readFileSync(cache, "utf8").includes(LITERAL_KEY), "the cache is what holds the key");
    assert.equal(modeOf(cache), "600");
  });

  test("the ledger records a launch's argv, env and log tail with references, not the values", async () => {
    const root = folder({
      "rig.yaml": [
        'gateway: { api_key: "${env:RIG_TEST_GATEWAY_KEY}" }',
        "servers:",
        "  box:",
        "    runtime: command",
        '    command: [serve, --api-key, "${env:RIG_TEST_ARG_SECRET}"]',
        '    env: { BEARER_VALUE: "Bearer ${env:RIG_TEST_ENV_SECRET}" }',
        "",
      ].join("\n"),
    });
    const config = await loadConfig({ home: root, env: { ...SECRETS, HOME: homedir() } });
    const server = config.servers.box!;
    const file = join(root, "state", "rig.db");
    const ledger = new Ledger(file);
    const events = ledgerLaunchEvents(ledger, () => config, new WriteFailures());
    const id = events.started({
      server: "box",
      runtime: "command",
      argv: server.command!,
      env: server.env,
      cwd: root,
      configHash: config.hash,
      profileHash: server.profileHash,
    });
    events.ended(id, {
      exitCode: 1,
      signal: null,
      outcome: "crashed",
      logTail: `refused key ${SECRETS.RIG_TEST_GATEWAY_KEY}`,
    });
    const row = ledger.launch(id)!;
    ledger.close();
    assert.deepEqual(row.argv, ["serve", "--api-key", "${env:RIG_TEST_ARG_SECRET}"]);
    assert.equal(row.env.BEARER_VALUE, "Bearer ${env:RIG_TEST_ENV_SECRET}");
    assert.equal(row.log_tail, "refused key ${env:RIG_TEST_GATEWAY_KEY}");
    const bytes = [file, `${file}-wal`].filter(existsSync).map((path) => readFileSync(path, "latin1"));
    assertHidden(bytes.join(""), "the ledger file");
  });

  test("a peer's key, literal or from the environment and however short, is shown by name", async () => {
    const root = folder({
      "rig.yaml": [
        "peers:",
        `  box: { url: "http://127.0.0.1:9", api_key: ${LITERAL_KEY} }`,
        '  tiny: { url: "http://127.0.0.1:10", api_key: "${env:RIG_TEST_TINY_KEY}" }',
        "",
      ].join("\n"),
    });
    const config = await loadConfig({ home: root, env: { RIG_TEST_TINY_KEY: "k3y", HOME: homedir() } });
    assert.deepEqual(redactSecrets(config, { line: `sent ${LITERAL_KEY} and k3y`, keys: [LITERAL_KEY] }), {
      line: "sent <peers.box.api_key> and ${env:RIG_TEST_TINY_KEY}",
      keys: ["<peers.box.api_key>"],
    });
  });

  test("every harness marks a file that holds the gateway key as secret", () => {
    for (const adapter of Object.values(HARNESSES)) {
      const launch = adapter.launch({
        agent: "coder",
        baseUrl: "http://127.0.0.1:7878/agents/coder",
        model: "qwen",
        stateDir: "/home/u/local-llm/state/harnesses/coder",
        command: ["agent-cli"],
        apiKey: LITERAL_KEY,
      });
      for (const file of launch.files)
        if (file.content.includes(LITERAL_KEY))
          assert.equal(file.secret, true, `${adapter.name}: ${file.path}`);
    }
  });

  test("a server may not be named after rig's own files: the error says where", async () => {
    const root = folder({
      "rig.yaml":
        'servers:\n  ok: { runtime: remote, url: "http://box:1" }\n  Gateway: { runtime: remote, url: "http://box:2" }\n',
    });
    const problems = await loadConfig({ home: root, env: { HOME: homedir() } }).then(
      () => assert.fail("a server named Gateway loaded"),
      (error: unknown) => (error instanceof ConfigError ? error.problems : assert.fail(String(error))),
    );
    assert.equal(problems.length, 1);
    assert.equal(
      `${problems[0]!.where?.file}:${problems[0]!.where?.line}:${problems[0]!.where?.col}`,
      `${join(root, "rig.yaml")}:3:3`,
    );
    assert.match(problems[0]!.message, /`Gateway` is reserved for rig's own log \(logs\/gateway\.log/);
  });
});

describe("what rig prints and writes (the built CLI)", () => {
  const homes: TestHome[] = [];
  after(async () => {
    for (const home of homes) await home.cleanup();
  });
  const env = { ...SECRETS };
  // The agent does nothing, so the test sees only what rig wrote for it.
  const IDLE_AGENT = join(mkdtempSync(join(tmpdir(), "rig-agent-")), "idle-agent.mjs");
  writeFileSync(IDLE_AGENT, "process.exit(0);\n");

  async function secretHome(): Promise<TestHome> {
    const home = await makeHome(
      [
        "harnesses:",
        `  pi: { command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(IDLE_AGENT)}] }`,
        "servers:",
        scriptedServer("echo", {
          BEARER_VALUE: "Bearer ${env:RIG_TEST_ENV_SECRET}",
          ECHO_SETTINGS: "BEARER_VALUE",
        }).trimEnd(),
        '    args: [--api-key, "${env:RIG_TEST_ARG_SECRET}"]',
        "peers:",
        `  box: { url: "http://127.0.0.1:9", api_key: ${LITERAL_KEY} }`,
        "agents:",
        "  pi-echo: { harness: pi, server: echo }",
        "  pi-box: { harness: pi, server: box/x }",
        "",
      ].join("\n"),
      { gateway: ', api_key: "${env:RIG_TEST_GATEWAY_KEY}"' },
    );
    homes.push(home);
    return home;
  }

  test("rig explain and rig run --dry-run show references, never the key or an expanded value", async () => {
    const home = await secretHome();
    for (const args of [
      ["explain", "pi-echo"],
      ["explain", "pi-echo", "--json"],
      ["explain", "echo"],
      ["explain", "echo", "--json"],
      ["run", "pi-echo", "--dry-run"],
      ["run", "pi-echo", "--dry-run", "--json"],
      ["explain", "box/x"],
      ["explain", "box/x", "--json"],
      ["explain", "pi-box"],
      ["explain", "pi-box", "--json"],
    ]) {
      const printed = await rig(args, { home: home.root, env });
      assert.equal(printed.code, 0, printed.stderr);
      assertHidden(printed.stdout + printed.stderr, `rig ${args.join(" ")}`);
    }
    const explained = await rigJson<{ harness: { env: Record<string, string> }; server: { argv: string[] } }>(
      ["explain", "pi-echo"],
      { home: home.root, env },
    );
    assert.ok(explained.server.argv.includes("${env:RIG_TEST_ARG_SECRET}"), explained.server.argv.join(" "));
    const dryRun = await rigJson<{ files: Array<{ content: string }> }>(["run", "pi-echo", "--dry-run"], {
      home: home.root,
      env,
    });
    assert.match(dryRun.files[0]!.content, /"apiKey": "\$\{env:RIG_TEST_GATEWAY_KEY\}"/);
  });

  test("a launch: rig history and the ledger show references; the agent's models.json holding the key is 0600", async () => {
    const home = await secretHome();
    const ran = await rig(["run", "pi-echo"], { home: home.root, env });
    assert.equal(ran.code, 0, ran.stderr);
    const models = join(home.root, "state", "harnesses", "pi-echo", "models.json");
    assert.ok(readFileSync(models, "utf8").includes(SECRETS.RIG_TEST_GATEWAY_KEY), "Pi needs the real key");
    assert.equal(modeOf(models), "600");

    const launches = await rigJson<Array<{ id: number; argv: string[] }>>(["history"], {
      home: home.root,
      env,
    });
    assert.equal(launches.length, 1);
    assert.deepEqual(launches[0]!.argv.slice(-2), ["--api-key", "${env:RIG_TEST_ARG_SECRET}"]);
    const shown = await rig(["history", "show", String(launches[0]!.id)], { home: home.root, env });
    assert.match(shown.stdout, /BEARER_VALUE='Bearer \$\{env:RIG_TEST_ENV_SECRET\}'/);
    assertHidden(shown.stdout, "rig history show");
    const db = join(home.root, "state", "rig.db");
    const bytes = [db, `${db}-wal`].filter(existsSync).map((path) => readFileSync(path, "latin1"));
    assertHidden(bytes.join(""), "the ledger file");
  });

  test("the server log shows references: in rig's launch line and in the settings the runtime prints", async () => {
    const home = await secretHome();
    const served = await rig(["serve", "echo"], { home: home.root, env });
    assert.equal(served.code, 0, served.stderr);
    const logFile = join(home.root, "logs", "echo.log");
    let log = "";
    for (let i = 0; i < 50 && !log.includes("settings:"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      log = readFileSync(logFile, "utf8");
    }
    const lines = log.split("\n");
    const launchLine = lines.find((line) => line.startsWith("--- rig: launching echo"));
    assert.ok(launchLine?.includes("--api-key '${env:RIG_TEST_ARG_SECRET}'"), launchLine);
    const settings = lines.find((line) => line.startsWith("settings:"));
    assert.ok(
      settings?.endsWith('"${env:RIG_TEST_ARG_SECRET}"],"env":"Bearer ${env:RIG_TEST_ENV_SECRET}"}'),
      settings,
    );
    assertHidden(log, "logs/echo.log");
    const shown = await rig(["logs", "echo"], { home: home.root, env });
    assert.match(shown.stdout, /settings: .*\$\{env:RIG_TEST_ARG_SECRET\}/);
    assertHidden(shown.stdout, "rig logs echo");
  });
});
