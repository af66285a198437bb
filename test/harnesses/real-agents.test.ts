import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { agentBin } from "../../scripts/install-agents.mjs";
import { sleep } from "../../src/system/process.ts";
import { rig } from "../support/cli.ts";
import { makeHome, type TestHome } from "../support/home.ts";
import { llamaServer, tinyModel } from "../support/llama.ts";

// The real agent CLIs, installed pinned by `npm test` (scripts/install-agents.mjs), run headless
// through `rig run` against the real llama-server serving the tiny model that ends its turns.
const homes: TestHome[] = [];
after(async () => {
  for (const home of homes) await home.cleanup();
});

async function agentsHome(): Promise<TestHome> {
  const model = await tinyModel({ endsTurns: true });
  const yaml = [
    "runtimes:",
    `  llama.cpp: { command: ${JSON.stringify(llamaServer())} }`,
    "harnesses:",
    ...["claude-code", "codex", "qwen-code", "pi", "opencode"].map(
      (name) => `  ${name}: { command: ${JSON.stringify(agentBin(name))} }`,
    ),
    "servers:",
    "  tiny:",
    "    runtime: llama.cpp",
    `    model: ${JSON.stringify(model)}`,
    "    context: 65536",
    "    args: [--threads, 2, --parallel, 2]",
    "    request: { set: { max_tokens: 128, max_output_tokens: 128 } }",
    "agents:",
    "  claude-tiny: { harness: claude-code, server: tiny }",
    "  codex-tiny: { harness: codex, server: tiny }",
    "  qwen-tiny: { harness: qwen-code, server: tiny }",
    "  pi-tiny: { harness: pi, server: tiny }",
    "  opencode-tiny: { harness: opencode, server: tiny }",
    "",
  ].join("\n");
  const home = await makeHome(yaml);
  homes.push(home);
  return home;
}

const HEADLESS: Record<string, string[]> = {
  "claude-tiny": ["-p", "say hi", "--output-format", "json", "--allowedTools", "Bash"],
  "codex-tiny": ["exec", "--skip-git-repo-check", "say hi"],
  "qwen-tiny": ["-p", "say hi", "-o", "json"],
  "pi-tiny": ["-p", "say hi"],
  "opencode-tiny": ["run", "say hi"],
};

describe("the real agent CLIs through rig run", () => {
  let home: TestHome;
  for (const [agent, args] of Object.entries(HEADLESS)) {
    test(`${agent} runs headless against the tiny model and exits 0`, async () => {
      home ??= await agentsHome();
      const result = await rig(["run", agent, "--", ...args], {
        home: home.root,
        timeoutMs: 240_000,
        env: { CI: "1" },
      });
      assert.equal(result.code, 0, `${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
      let log = "";
      for (let i = 0; i < 30 && !log.includes(`agent=${agent} status=200`); i++) {
        await sleep(100);
        log = readFileSync(join(home.root, "logs", "gateway.log"), "utf8");
      }
      assert.match(log, new RegExp(`POST /agents/${agent}/v1/\\S+ server=tiny agent=${agent} status=200`));
    });
  }
});
