import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { agentBin } from "../../scripts/install-agents.mjs";
import { HARNESSES } from "../../src/harnesses/index.ts";
import { AGENT_PINS } from "../../src/install/agents.ts";
import { sleep } from "../../src/system/process.ts";
import { rig } from "../support/cli.ts";
import { makeHome, type TestHome } from "../support/home.ts";
import { llamaServer, tinyModel } from "../support/llama.ts";
import { killLeftovers } from "../support/processes.ts";
import { readRecord, scriptedServer } from "../support/stack.ts";
import { type Column, type Outcome, writeAgentMatrix } from "./agent-matrix.ts";

// Every pinned agent CLI (installed by `npm test` through scripts/install-agents.mjs) runs headless
// through `rig run`: against the real llama-server serving the tiny model that ends its turns, in the
// runtime's own dialect and with translation forced, and against a scripted chat-only upstream that
// asks for the agent's shell tool. The outcome of each is written to bench/results/agents.md.

interface AgentCase {
  /** The agent's arguments to run one prompt unattended, its tools allowed. */
  headless(prompt: string): string[];
  /** The agent's shell tool, as the scripted model calls it to run `command`. */
  shell(command: string): { name: string; args: Record<string, unknown> };
}

const CASES: Record<string, AgentCase> = {
  "claude-code": {
    headless: (prompt) => ["-p", prompt, "--output-format", "json", "--allowedTools", "Bash"],
    shell: (command) => ({ name: "Bash", args: { command, description: "print the marker" } }),
  },
  codex: {
    headless: (prompt) => [
      "exec",
      "--skip-git-repo-check",
      "--dangerously-bypass-approvals-and-sandbox",
      prompt,
    ],
    shell: (command) => ({ name: "exec_command", args: { cmd: command } }),
  },
  "qwen-code": {
    headless: (prompt) => ["-p", prompt, "-o", "json", "--yolo"],
    shell: (command) => ({ name: "run_shell_command", args: { command } }),
  },
  pi: {
    headless: (prompt) => ["-p", prompt],
    shell: (command) => ({ name: "bash", args: { command } }),
  },
  opencode: {
    headless: (prompt) => ["run", prompt],
    shell: (command) => ({ name: "bash", args: { command, description: "print the marker" } }),
  },
  "gemini-cli": {
    // Trusting the folder and running tools unasked are the user's decisions, made here by the flags.
    headless: (prompt) => ["-p", prompt, "-o", "json", "--skip-trust", "-y"],
    shell: (command) => ({ name: "run_shell_command", args: { command } }),
  },
  copilot: {
    headless: (prompt) => ["-p", prompt, "-s", "--allow-all-tools"],
    shell: (command) => ({ name: "bash", args: { command, description: "print the marker" } }),
  },
  crush: {
    headless: (prompt) => ["run", "--quiet", prompt],
    shell: (command) => ({ name: "bash", args: { command, description: "print the marker" } }),
  },
  cline: {
    headless: (prompt) => ["--json", prompt],
    shell: (command) => ({ name: "run_commands", args: { commands: [command] } }),
  },
  kilo: {
    headless: (prompt) => ["run", prompt],
    shell: (command) => ({ name: "bash", args: { command, description: "print the marker" } }),
  },
  continue: {
    headless: (prompt) => ["-p", prompt, "--auto"],
    shell: (command) => ({ name: "Bash", args: { command } }),
  },
};

const HARNESS_ORDER = Object.keys(AGENT_PINS);

test("every pinned agent has its case here", () => {
  assert.deepEqual(Object.keys(CASES).sort(), [...HARNESS_ORDER].sort());
});

/** Why an agent's tests cannot run on this machine, or false when they can. */
function missing(harness: string): string | false {
  if (existsSync(agentBin(harness))) return false;
  const downloads = AGENT_PINS[harness]?.downloads;
  return downloads
    ? `not installed: its install downloads ${downloads}, unreachable here`
    : `not installed: run scripts/install-agents.mjs ${harness}`;
}

const outcomes = new Map<string, Outcome>();
const homes: TestHome[] = [];
after(async () => {
  for (const home of homes) await home.cleanup();
  const left = killLeftovers(homes.map((home) => home.root));
  if (left) console.error(`ended ${left} process(es) agents left running after their run`);
  if (!writeAgentMatrix(HARNESS_ORDER, outcomes))
    console.error("bench/results/agents.md left as it was: not every agent ran everywhere in this run");
});

/** Runs `body` as one cell of the matrix: its outcome is what the matrix shows. */
async function cell(harness: string, column: Column, body: () => Promise<string>): Promise<void> {
  const key = `${harness}\u0000${column}`;
  outcomes.set(key, { ok: false, note: "failed" });
  outcomes.set(key, { ok: true, note: await body() });
}

function harnessLines(): string[] {
  return [
    "harnesses:",
    ...HARNESS_ORDER.filter((harness) => !missing(harness)).map(
      (harness) => `  ${harness}: { command: ${JSON.stringify(agentBin(harness))} }`,
    ),
  ];
}

const agentName = (harness: string, server: string) => `${harness}-${server}`;

function agentLines(server: string): string[] {
  return HARNESS_ORDER.map(
    (harness) => `  ${agentName(harness, server)}: { harness: ${harness}, server: ${server} }`,
  );
}

/** One home for the real llama-server runs: `tiny` in the runtime's own dialects, `forced` translating. */
let llamaHome: Promise<TestHome> | undefined;
function tinyHome(): Promise<TestHome> {
  llamaHome ??= (async () => {
    const model = await tinyModel({ endsTurns: true });
    const server = (name: string, translate: string) => [
      `  ${name}:`,
      "    runtime: llama.cpp",
      `    model: ${JSON.stringify(model)}`,
      "    context: 65536",
      "    args: [--threads, 2, --parallel, 2]",
      "    request: { set: { max_tokens: 128, max_output_tokens: 128 } }",
      `    translate: ${translate}`,
    ];
    const home = await makeHome(
      [
        "runtimes:",
        `  llama.cpp: { command: ${JSON.stringify(llamaServer())} }`,
        ...harnessLines(),
        "servers:",
        ...server("tiny", "auto"),
        ...server("forced", "always"),
        "agents:",
        ...agentLines("tiny"),
        ...agentLines("forced"),
        "",
      ].join("\n"),
    );
    homes.push(home);
    return home;
  })();
  return llamaHome;
}

/** How the gateway carries the agent's dialect to a runtime that speaks `speaks`, translating when `forced`. */
function route(harness: string, speaks: readonly string[], forced: boolean): string {
  const dialect = HARNESSES[harness]!.dialect;
  const native = speaks.includes(dialect) && (!forced || dialect === "chat");
  return native ? `native ${dialect}` : `${dialect} → chat`;
}

const LLAMA_DIALECTS = ["chat", "completions", "embeddings", "messages", "responses"];

async function runOnTiny(harness: string, server: "tiny" | "forced"): Promise<string> {
  const home = await tinyHome();
  const agent = agentName(harness, server);
  const result = await rig(["run", agent, "--", ...CASES[harness]!.headless("say hi")], {
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
  assert.match(
    log,
    new RegExp(`POST /agents/${agent}/v1(beta)?/\\S+ server=${server} agent=${agent} status=200`),
  );
  return `exit 0 (${route(harness, LLAMA_DIALECTS, server === "forced")})`;
}

describe("the real agent CLIs through rig run against llama-server and the tiny model", () => {
  for (const harness of HARNESS_ORDER) {
    test(
      `${harness} runs headless in the runtime's own dialect and exits 0`,
      { skip: missing(harness) },
      () => cell(harness, "native", () => runOnTiny(harness, "tiny")),
    );
    test(`${harness} runs headless with translation forced and exits 0`, { skip: missing(harness) }, () =>
      cell(harness, "forced", () => runOnTiny(harness, "forced")),
    );
  }
});

describe("a full tool round trip with the real agents against a scripted chat-only upstream", () => {
  // The upstream answers each agent's prompt with a call of that agent's shell tool; the agent runs it;
  // its next request must carry the command's output. Replies are chosen by content, so the agents'
  // side requests (titles, warm-ups) do not consume them.
  const MARKER = "rig-roundtrip-result";
  const prompt = (harness: string) => `please run the ${harness}-please-run check`;
  const script = [
    { match: MARKER, deltas: [{ content: "The command printed the marker." }] },
    ...HARNESS_ORDER.map((harness) => {
      const { name, args } = CASES[harness]!.shell(`echo ${MARKER}`);
      const call = {
        index: 0,
        id: `call_${harness}`,
        type: "function",
        function: { name, arguments: JSON.stringify(args) },
      };
      return { match: `${harness}-please-run`, tools: true, deltas: [{ tool_calls: [call] }] };
    }),
    { deltas: [{ content: "ok" }] },
  ];
  let upstreamHome: Promise<TestHome> | undefined;
  const home = () => {
    upstreamHome ??= (async () => {
      const made = await makeHome(
        [
          ...harnessLines(),
          "servers:",
          scriptedServer("up", { SCRIPT: "script.json", RECORD: "record.jsonl" }, "context: 65536"),
          "agents:",
          ...agentLines("up"),
          "",
        ].join("\n"),
      );
      homes.push(made);
      made.write("script.json", JSON.stringify(script));
      return made;
    })();
    return upstreamHome;
  };

  type ChatRequest = { messages: Array<{ role: string; content: unknown }> };
  for (const harness of HARNESS_ORDER) {
    test(
      `${harness}: the tool call runs, its output reaches the model, the prompt's start stays put`,
      { skip: missing(harness) },
      () =>
        cell(harness, "upstream", async () => {
          const { root } = await home();
          const agent = agentName(harness, "up");
          const result = await rig(["run", agent, "--", ...CASES[harness]!.headless(prompt(harness))], {
            home: root,
            timeoutMs: 180_000,
          });
          assert.equal(result.code, 0, `${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
          assert.match(result.stdout, /The command printed the marker\./);
          const requests = readRecord(join(root, "record.jsonl"))
            .filter((entry) => entry.path === "/v1/chat/completions")
            .map((entry) => entry.body as ChatRequest)
            .filter((body) => JSON.stringify(body.messages).includes(`${harness}-please-run`));
          // Side requests (titles) carry the prompt too, but offer no tools.
          const asked = requests.findIndex(
            (body) => (body as { tools?: unknown[] }).tools?.length && !JSON.stringify(body).includes(MARKER),
          );
          const answered = requests.findIndex((body) =>
            body.messages.some(
              (message) =>
                message.role === "tool" && String(JSON.stringify(message.content)).includes(MARKER),
            ),
          );
          assert.ok(asked >= 0, "the agent asked the model first");
          assert.ok(answered > asked, "the next request carries the command's output");
          // What the runtime cached for the first turn is where the next turn starts.
          const before = requests[asked]!.messages;
          assert.deepEqual(requests[answered]!.messages.slice(0, before.length), before);
          return `tool round trip (${route(harness, ["chat"], false)})`;
        }),
    );
  }
});

test("qwen-code sends the output limit rig derived from the server's context", {
  skip: missing("qwen-code"),
}, async () => {
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
