// Agents side by side, end to end: real Claude Code and Codex, through the built CLI, against a
// scripted chat-only upstream (so rig translates every turn) that answers with broken tool-call
// arguments, a call written as text, a call naming a tool that was not offered, and an answer cut by
// the token limit. `rig stats --json` and /metrics must count each exactly as the upstream served it.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { agentBin } from "../../scripts/install-agents.mjs";
import type { StatsRow } from "../../src/ledger/ledger.ts";
import { sleep } from "../../src/system/process.ts";
import { rig, rigJson } from "../support/cli.ts";
import { makeHome, type TestHome } from "../support/home.ts";
import { killLeftovers } from "../support/processes.ts";
import { readRecord, scriptedServer } from "../support/stack.ts";

interface AgentCase {
  harness: string;
  headless(prompt: string): string[];
  shell(command: string): Record<string, unknown>;
  tool: string;
}

const AGENTS: AgentCase[] = [
  {
    harness: "claude-code",
    headless: (prompt) => ["-p", prompt, "--output-format", "json", "--allowedTools", "Bash"],
    tool: "Bash",
    shell: (command) => ({ command, description: "print the marker" }),
  },
  {
    harness: "codex",
    headless: (prompt) => [
      "exec",
      "--skip-git-repo-check",
      "--dangerously-bypass-approvals-and-sandbox",
      prompt,
    ],
    tool: "exec_command",
    shell: (command) => ({ cmd: command }),
  },
];

/** What one scripted reply should count as, by its name. */
const EXPECTED: Record<
  string,
  { made: number; repaired: number; extracted: number; unoffered: number; cut: number }
> = {
  broken: { made: 1, repaired: 1, extracted: 0, unoffered: 0, cut: 0 },
  written: { made: 1, repaired: 0, extracted: 1, unoffered: 0, cut: 0 },
  unoffered: { made: 1, repaired: 0, extracted: 0, unoffered: 1, cut: 0 },
  cut: { made: 0, repaired: 0, extracted: 0, unoffered: 0, cut: 1 },
  plain: { made: 0, repaired: 0, extracted: 0, unoffered: 0, cut: 0 },
  failing: { made: 0, repaired: 0, extracted: 0, unoffered: 0, cut: 0 },
};
const CACHED_PROMPT = {
  prompt_tokens: 100,
  completion_tokens: 3,
  prompt_tokens_details: { cached_tokens: 90 },
};

/**
 * Each turn's request carries every earlier marker, so the latest stage is matched first. Only requests
 * offering tools take the stages; side requests (titles) get the plain answer.
 */
function script(agent: AgentCase): unknown[] {
  const prefix = (text: string) => `${agent.harness}-${text}`;
  const broken = JSON.stringify(agent.shell(`echo ${prefix("stats-one")}`))
    .replace(/"(\w+)":/g, "$1:")
    .replace(/"/g, "'")
    .replace(/}$/, ",}");
  return [
    {
      match: "FAIL-ON-PURPOSE",
      name: "failing",
      status: 500,
      body: { error: { message: "scripted failure" } },
    },
    {
      match: `call_teleport_${agent.harness}`,
      tools: true,
      name: "cut",
      deltas: [{ content: "All done, and then the limit" }],
      finish_reason: "length",
      usage: CACHED_PROMPT,
    },
    {
      match: prefix("stats-two"),
      tools: true,
      name: "unoffered",
      deltas: [
        {
          tool_calls: [
            {
              index: 0,
              id: `call_teleport_${agent.harness}`,
              type: "function",
              function: { name: "Teleport", arguments: '{"to": "mars"}' },
            },
          ],
        },
      ],
    },
    {
      match: prefix("stats-one"),
      tools: true,
      name: "written",
      deltas: [
        {
          content: `I will run it.\n<tool_call>${JSON.stringify({ name: agent.tool, arguments: agent.shell(`echo ${prefix("stats-two")}`) })}</tool_call>`,
        },
      ],
    },
    {
      match: prefix("please-count"),
      tools: true,
      name: "broken",
      deltas: [
        {
          tool_calls: [
            {
              index: 0,
              id: `call_broken_${agent.harness}`,
              type: "function",
              function: { name: agent.tool, arguments: broken },
            },
          ],
        },
      ],
    },
    { name: "plain", deltas: [{ content: "ok" }] },
  ];
}

const missing = AGENTS.map((agent) => agent.harness).filter((harness) => !existsSync(agentBin(harness)));
const skip = missing.length
  ? `agent CLI not installed: ${missing.join(", ")} (scripts/install-agents.mjs)`
  : false;

let home: TestHome | undefined;
after(async () => {
  if (!home) return;
  await home.cleanup();
  killLeftovers([home.root]);
});

const agentName = (agent: AgentCase) => `${agent.harness}-up`;
const serverName = (agent: AgentCase) => `up-${agent.harness}`;

test("rig stats and /metrics count every tool call, cut answer and upstream error of Claude Code and Codex", {
  skip,
}, async () => {
  home = await makeHome(
    [
      "harnesses:",
      ...AGENTS.map((agent) => `  ${agent.harness}: { command: ${JSON.stringify(agentBin(agent.harness))} }`),
      "servers:",
      ...AGENTS.map((agent) =>
        scriptedServer(
          serverName(agent),
          { SCRIPT: `${agent.harness}.json`, RECORD: `${agent.harness}.jsonl` },
          "context: 65536",
        ),
      ),
      "agents:",
      ...AGENTS.map(
        (agent) => `  ${agentName(agent)}: { harness: ${agent.harness}, server: ${serverName(agent)} }`,
      ),
      "",
    ].join("\n"),
  );
  const { root } = home;
  for (const agent of AGENTS) home.write(`${agent.harness}.json`, JSON.stringify(script(agent)));

  for (const agent of AGENTS) {
    const prompt = `please run the ${agent.harness}-please-count check`;
    const result = await rig(["run", agentName(agent), "--", ...agent.headless(prompt)], {
      home: root,
      timeoutMs: 240_000,
    });
    const served = readRecord(join(root, `${agent.harness}.jsonl`)).filter(
      (entry) => entry.event === "reply",
    );
    const names = served.map((entry) => entry.name);
    for (const stage of ["broken", "written", "unoffered", "cut"])
      assert.ok(
        names.includes(stage),
        `${agent.harness} reached the ${stage} turn (served: ${names.join(", ")}); exit ${result.code}\n${result.stdout.slice(-1500)}\n${result.stderr.slice(-1500)}`,
      );
    // One exchange the runtime fails, through the agent's own route.
    const failed: Response = await fetch(`${home.url}/agents/${agentName(agent)}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "any", messages: [{ role: "user", content: "FAIL-ON-PURPOSE" }] }),
    });
    assert.equal(failed.status, 500);
  }

  // The gateway writes its log and its ledger in batches: wait until both hold the last request (the
  // failing one), and the ledger every request the log has.
  const logged = (agent: AgentCase) =>
    readFileSync(join(root, "logs", "gateway.log"), "utf8")
      .split("\n")
      .filter((line) => line.includes(` agent=${agentName(agent)} `)).length;
  let rows: StatsRow[] = [];
  for (let i = 0; i < 50; i++) {
    rows = await rigJson<StatsRow[]>(["stats", "--by", "agent,server"], { home: root });
    const settled = (agent: AgentCase) => {
      const row = rows.find((candidate) => candidate.agent === agentName(agent));
      return row !== undefined && row.upstream_errors >= 1 && row.requests === logged(agent);
    };
    if (AGENTS.every(settled)) break;
    await sleep(100);
  }
  const metrics = await (await fetch(`${home.url}/metrics`)).text();
  const metric = (series: string) =>
    Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\d+)$`, "m").exec(metrics)?.[1]);

  for (const agent of AGENTS) {
    const record = readRecord(join(root, `${agent.harness}.jsonl`));
    const served = record.filter((entry) => entry.event === "reply").map((entry) => String(entry.name));
    const sum = (field: keyof (typeof EXPECTED)[string]) =>
      served.reduce((total, name) => total + EXPECTED[name]![field], 0);
    const offered = record
      .filter((entry) => entry.event === "request" && entry.path === "/v1/chat/completions")
      .reduce((total, entry) => total + ((entry.body as { tools?: unknown[] }).tools ?? []).length, 0);
    const cutTurns = served.filter((name) => name === "cut").length;
    const plainTurns = served.filter((name) => name !== "cut" && name !== "failing").length;
    const row = rows.find((candidate) => candidate.agent === agentName(agent));
    assert.ok(row, `${agent.harness} has a row: ${JSON.stringify(rows)}`);
    assert.deepEqual(
      row,
      {
        agent: agentName(agent),
        server: serverName(agent),
        requests: logged(agent),
        tools_offered: offered,
        tool_calls: sum("made"),
        tool_calls_repaired: sum("repaired"),
        tool_calls_extracted: sum("extracted"),
        tool_calls_unoffered: sum("unoffered"),
        tool_calls_unseen: 0,
        answers_cut: sum("cut"),
        upstream_errors: 1,
        prompt_tokens: 100 * cutTurns + 11 * plainTurns,
        cached_tokens: 90 * cutTurns,
        cache_reuse: 0.9,
        cache_misses: 0,
      },
      `served: ${served.join(", ")}`,
    );
    assert.ok(row.tool_calls >= 3 && row.answers_cut >= 1 && row.tools_offered > 0);

    const labels = `agent="${agentName(agent)}",server="${serverName(agent)}"`;
    assert.equal(metric(`rig_agent_requests_total{${labels}}`), row.requests);
    assert.equal(metric(`rig_tools_offered_total{${labels}}`), row.tools_offered);
    assert.equal(metric(`rig_tool_calls_total{${labels},kind="made"}`), row.tool_calls);
    assert.equal(metric(`rig_tool_calls_total{${labels},kind="repaired"}`), row.tool_calls_repaired);
    assert.equal(metric(`rig_tool_calls_total{${labels},kind="extracted"}`), row.tool_calls_extracted);
    assert.equal(metric(`rig_tool_calls_total{${labels},kind="unoffered"}`), row.tool_calls_unoffered);
    assert.equal(metric(`rig_answers_cut_total{${labels}}`), row.answers_cut);
    assert.equal(metric(`rig_upstream_errors_total{${labels}}`), 1);
  }

  const byServer = await rigJson<StatsRow[]>(["stats", "--by", "server", "--since", "1h"], { home: root });
  assert.deepEqual(byServer.map((row) => row.server).sort(), AGENTS.map(serverName).sort());
  const table = await rig(["stats"], { home: root });
  assert.equal(table.code, 0, table.stderr);
  assert.match(
    table.stdout,
    /AGENT\s+SERVER\s+REQUESTS\s+TOOLS OFFERED\s+CALLS\s+REPAIRED\s+EXTRACTED\s+UNOFFERED\s+CUT/,
  );
  assert.match(table.stdout, /claude-code-up\s+up-claude-code\s+\d+/);
  const wrong = await rig(["stats", "--by", "model"], { home: root });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--by takes agent, server, agent,server/);
});
