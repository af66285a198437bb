import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { agentBin } from "../../scripts/install-agents.mjs";
import { sleep } from "../../src/system/process.ts";
import { rig } from "../support/cli.ts";
import { makeHome, type TestHome } from "../support/home.ts";
import { llamaServer, tinyModel } from "../support/llama.ts";
import { readRecord, scriptedServer } from "../support/stack.ts";

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

describe("a full tool round trip with the real agents against a scripted chat-only upstream", () => {
  // The upstream answers the prompt with a shell tool call; the agent runs it; its next request must
  // carry the command's output. Replies are chosen by content, so the agents' side requests (titles,
  // warm-ups) do not consume them.
  const MARKER = "rig-roundtrip-result";
  const call = (name: string, args: Record<string, string>) => ({
    deltas: [
      {
        tool_calls: [
          {
            index: 0,
            id: `call_${name}`,
            type: "function",
            function: { name, arguments: JSON.stringify(args) },
          },
        ],
      },
    ],
  });
  const script = [
    { match: MARKER, deltas: [{ content: "The command printed the marker." }] },
    {
      match: "claude-please-run",
      tools: true,
      ...call("Bash", { command: `echo ${MARKER}`, description: "print the marker" }),
    },
    { match: "codex-please-run", tools: true, ...call("exec_command", { cmd: `echo ${MARKER}` }) },
    { deltas: [{ content: "ok" }] },
  ];

  for (const [agent, harness, args] of [
    [
      "claude-up",
      "claude-code",
      ["-p", "claude-please-run", "--output-format", "json", "--allowedTools", "Bash"],
    ],
    [
      "codex-up",
      "codex",
      ["exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", "codex-please-run"],
    ],
  ] as const) {
    test(`${agent}: the tool call runs and its output reaches the model`, async () => {
      const home = await makeHome(
        [
          "harnesses:",
          `  ${harness}: { command: ${JSON.stringify(agentBin(harness))} }`,
          "servers:",
          scriptedServer("up", { SCRIPT: "script.json", RECORD: "record.jsonl" }, "context: 65536"),
          "agents:",
          `  ${agent}: { harness: ${harness}, server: up }`,
          "",
        ].join("\n"),
      );
      homes.push(home);
      home.write("script.json", JSON.stringify(script));
      const result = await rig(["run", agent, "--", ...args], { home: home.root, timeoutMs: 180_000 });
      assert.equal(result.code, 0, `${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
      assert.match(result.stdout, /The command printed the marker\./);
      const requests = readRecord(join(home.root, "record.jsonl")).filter(
        (entry) => entry.path === "/v1/chat/completions",
      );
      const toolResults = requests.flatMap((entry) =>
        (entry.body as { messages: Array<{ role: string; content: string }> }).messages.filter(
          (message) => message.role === "tool",
        ),
      );
      assert.ok(
        toolResults.some((message) => String(message.content).includes(MARKER)),
        "the next request carries the command's output",
      );
    });
  }
});

test("qwen-code sends the output limit rig derived from the server's context", async () => {
  const home = await makeHome(
    [
      "harnesses:",
      `  qwen-code: { command: ${JSON.stringify(agentBin("qwen-code"))} }`,
      "servers:",
      scriptedServer("up", { RECORD: "record.jsonl" }, "context: 65536"),
      "agents:",
      "  qwen-up: { harness: qwen-code, server: up }",
      "",
    ].join("\n"),
  );
  homes.push(home);
  const result = await rig(["run", "qwen-up", "--", "-p", "hello", "-o", "json"], {
    home: home.root,
    timeoutMs: 180_000,
  });
  assert.equal(result.code, 0, result.stderr.slice(-2000));
  const requests = readRecord(join(home.root, "record.jsonl")).filter(
    (entry) => entry.path === "/v1/chat/completions",
  );
  assert.ok(requests.length > 0);
  for (const request of requests) assert.equal((request.body as { max_tokens: number }).max_tokens, 16_384);
});
