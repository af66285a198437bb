import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { withHarnessCommand } from "../../src/cli/agent-install.ts";
import {
  AGENT_PINS,
  agentBin,
  compareVersions,
  installAgent,
  installedAgents,
  packageVersionOf,
} from "../../src/install/agents.ts";
import { fakeAgentInstall, tempCache } from "../support/agent-cache.ts";

test("versions order like semver: numeric parts, a prerelease before its release", () => {
  const sorted = ["1.10.0", "1.2.0", "1.2.0-beta.10", "1.2.0-beta.2", "0.9", "2.0.0"].sort(compareVersions);
  assert.deepEqual(sorted, ["0.9", "1.2.0-beta.2", "1.2.0-beta.10", "1.2.0", "1.10.0", "2.0.0"]);
  assert.equal(compareVersions("0.73.1", "0.73.1"), 0);
});

test("an executable's version comes from its package, through the bin link and nameless package.json files", () => {
  const cache = tempCache();
  const pi = fakeAgentInstall(cache, "pi", "0.70.0");
  assert.equal(packageVersionOf(pi, AGENT_PINS.pi!.package), "0.70.0");
  assert.equal(packageVersionOf(pi, "some-other-package"), undefined, "another package's CLI has no version");
  assert.equal(packageVersionOf(process.execPath, AGENT_PINS.pi!.package), undefined);
  assert.equal(packageVersionOf(join(cache, "missing"), AGENT_PINS.pi!.package), undefined);
});

test("the cache lists every installed version by agent, oldest first; folders without the CLI are not installs", () => {
  const cache = tempCache();
  const env = { RIG_CACHE: cache };
  assert.deepEqual(installedAgents(env), []);
  fakeAgentInstall(cache, "pi", "0.73.1");
  fakeAgentInstall(cache, "pi", "0.9.0");
  fakeAgentInstall(cache, "claude-code", "2.1.197");
  fakeAgentInstall(cache, "qwen-code", "0.15.10");
  mkdirSync(join(cache, "agents", "codex-0.169.0"));
  renameSync(
    join(cache, "agents", "qwen-code-0.15.10"),
    join(cache, "agents", ".qwen-code-0.16.0.4242.partial"),
  );
  fakeAgentInstall(cache, "qwen-code", "0.15.10");
  const listed = installedAgents(env).map((agent) => `${agent.name} ${agent.version}`);
  assert.deepEqual(listed, ["claude-code 2.1.197", "pi 0.9.0", "pi 0.73.1", "qwen-code 0.15.10"]);
  assert.equal(installedAgents(env).find((agent) => agent.version === "0.73.1")?.path, agentBin("pi", env));
});

test("installing a version already in the cache runs nothing", async () => {
  const cache = tempCache();
  fakeAgentInstall(cache, "pi", AGENT_PINS.pi!.version);
  // No npm on this PATH: a download would fail.
  const result = await installAgent("pi", { env: { RIG_CACHE: cache, PATH: "/nonexistent" } });
  assert.deepEqual(result, {
    name: "pi",
    version: AGENT_PINS.pi!.version,
    path: agentBin("pi", { RIG_CACHE: cache }),
    cached: true,
  });
});

test("a failed install says why and leaves nothing that looks installed", async () => {
  const cache = tempCache();
  const env = { RIG_CACHE: cache, PATH: "/nonexistent" };
  await assert.rejects(installAgent("codex", { env }), /could not run npm/);
  assert.equal(existsSync(agentBin("codex", env)), false);
  assert.deepEqual(readdirSync(join(cache, "agents")), [], "no partial folder is left behind");
  assert.deepEqual(installedAgents(env), []);
});

test("pointing a harness at a CLI replaces only its command, or adds the entry, keeping every other byte", () => {
  const written = [
    "# my stack",
    "harnesses:",
    "  pi: { command: pi }        # the one on PATH",
    "  codex:",
    "    command: [npx, codex]",
    "servers: {}",
    "",
  ].join("\n");
  assert.equal(
    withHarnessCommand(written, "pi", "~/.cache/rig/agents/pi-0.73.1/node_modules/.bin/pi"),
    written.replace("{ command: pi }", '{ command: "~/.cache/rig/agents/pi-0.73.1/node_modules/.bin/pi" }'),
  );
  assert.equal(
    withHarnessCommand(written, "codex", "/opt/codex"),
    written.replace("[npx, codex]", '"/opt/codex"'),
  );
  assert.equal(
    withHarnessCommand(written, "opencode", "/opt/opencode"),
    written.replace("servers: {}", "  opencode:\n    command: /opt/opencode\nservers: {}"),
  );
  assert.equal(
    withHarnessCommand("servers: {}\n", "pi", "/opt/pi"),
    "servers: {}\nharnesses:\n  pi:\n    command: /opt/pi\n",
  );
});
