// Servers side by side, in-process: the prompt file read line by line with file:line errors, the
// built-in set's tool call checked as it streams back, and several servers taking turns in a rotating
// order on the same prompts, compared with the first.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ChatAsk } from "../../src/bench/client.ts";
import {
  BUILT_IN_PROMPTS,
  LONG_PREFILL,
  numberedMessages,
  parsePromptFile,
  TOOL_CALL,
  wellFormedCalls,
} from "../../src/bench/prompts.ts";
import { commandOf, readyText } from "../../src/bench/report.ts";
import { type BenchDriver, runBench, type Subject } from "../../src/bench/run.ts";
import { cellsOf } from "../../src/bench/settings.ts";
import { ChatStreamReader } from "../../src/bench/stream.ts";
import { summarize } from "../../src/bench/summary.ts";

const chunk = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;

describe("--prompts FILE", () => {
  test("one chat request a line, named file:line; blank lines and # comments skipped", () => {
    const text = [
      '{"messages": [{"role": "user", "content": "hi"}]}',
      "",
      "# the agent's usual turn",
      '{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "x"}], "max_tokens": 8, "temperature": 0}',
    ].join("\n");
    const prompts = parsePromptFile(text, "mine.jsonl");
    assert.deepEqual(
      (prompts as Array<{ name: string }>).map((prompt) => prompt.name),
      ["mine.jsonl:1", "mine.jsonl:4"],
    );
    assert.deepEqual((prompts as Array<{ request: unknown }>)[1]!.request, {
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "x" },
      ],
      max_tokens: 8,
      temperature: 0,
    });
  });

  test("every bad line is reported with its file and line and what to write instead", () => {
    const text = [
      '{"messages": [{"role": "user", "content": "fine"}]}',
      "{messages: []}",
      '["a list"]',
      '{"messages": []}',
      '{"messages": [{"content": "no role"}]}',
      '{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}',
      '{"messages": [{"role": "user", "content": "x"}], "model": "other", "stream": false}',
    ].join("\n");
    const { errors } = parsePromptFile(text, "p.jsonl") as { errors: string[] };
    assert.equal(errors.length, 6);
    assert.match(errors[0]!, /^p\.jsonl:2: not JSON/);
    assert.match(errors[1]!, /^p\.jsonl:3: a chat request is a JSON object/);
    assert.match(errors[2]!, /^p\.jsonl:4: needs a non-empty `messages` list/);
    assert.match(errors[3]!, /^p\.jsonl:5: messages\[0\] needs a `role`/);
    assert.match(errors[4]!, /^p\.jsonl:6: `max_tokens` must be a whole number/);
    assert.match(errors[5]!, /^p\.jsonl:7: rig sets `model`, `stream`; leave it out/);
    assert.deepEqual(parsePromptFile("\n# nothing\n", "empty.jsonl"), {
      errors: ["empty.jsonl: no requests (one chat request a line)"],
    });
  });

  test("each request starts with its own number, so no prompt cache serves a later round", () => {
    const messages = [
      { role: "system", content: "be brief" },
      { role: "user", content: "x" },
    ];
    assert.deepEqual(numberedMessages(messages, 42), [
      { role: "system", content: "Request 000042. be brief" },
      { role: "user", content: "x" },
    ]);
    assert.deepEqual(numberedMessages([{ role: "user", content: [{ type: "text", text: "x" }] }], 7), [
      {
        role: "user",
        content: [
          { type: "text", text: "Request 000007." },
          { type: "text", text: "x" },
        ],
      },
    ]);
    assert.deepEqual(messages[0]!.content, "be brief", "the prompt set itself is not changed");
  });
});

describe("the tool-call prompt", () => {
  test("a call streamed in pieces is assembled, and is well-formed when its arguments are a JSON object", () => {
    const reader = new ChatStreamReader();
    const call = (part: Record<string, unknown>) =>
      chunk({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...part }] } }] });
    reader.push(call({ id: "c1", type: "function", function: { name: "get_weather", arguments: "" } }), 10);
    reader.push(call({ function: { arguments: '{"city": ' } }), 12);
    reader.push(call({ function: { arguments: '"Paris"}' } }), 14);
    const figures = reader.figures()!;
    assert.deepEqual(figures.toolCalls, [{ name: "get_weather", arguments: '{"city": "Paris"}' }]);
    assert.equal(figures.ttftMs, 10, "a call's first piece is the first token");
    assert.ok(wellFormedCalls(figures.toolCalls!));
    assert.ok(!wellFormedCalls([{ name: "get_weather", arguments: '{"city": "Par' }]), "cut off");
    assert.ok(!wellFormedCalls([{ name: "", arguments: "{}" }]), "no function named");
    assert.ok(!wellFormedCalls([]), "no call at all");
  });
});

/**
 * Servers that answer at their own speeds (`b` 1.5× and `c` 0.5× `a`'s generation), a well-formed call
 * from `a` only; what each was asked is kept.
 */
function fakeServers() {
  const started: string[] = [];
  const asked: Array<{ server: string; path: string; ask: ChatAsk }> = [];
  let current = "";
  const speed: Record<string, number> = { a: 40, b: 60, c: 20 };
  const driver: BenchDriver = {
    async ready(subject: Subject) {
      started.push(subject.name);
      current = subject.name;
      return {
        gateway: { url: "http://gateway/v1/chat/completions", model: subject.name },
        direct: { url: "http://direct/v1/chat/completions", model: subject.name },
      };
    },
    async ask(target, ask) {
      asked.push({ server: current, path: target.url.includes("gateway") ? "gateway" : "direct", ask });
      const tools = Boolean(ask.request?.tools);
      return {
        ttftMs: 10,
        promptTokens: 30 + ask.prompt.split(" ").length,
        completionTokens: ask.maxTokens,
        promptPerSecond: 500,
        generationPerSecond: speed[current]!,
        timedBy: "runtime",
        ...(tools && current === "a"
          ? { toolCalls: [{ name: "get_weather", arguments: '{"city":"Paris"}' }] }
          : {}),
      };
    },
  };
  return { driver, started, asked };
}

const settings = { contexts: [512], concurrency: [1], rounds: 3, max_tokens: 16, vary: null };

describe("servers side by side", () => {
  test("the built-in set: a short chat, a long prefill per context, a tool call, at each concurrency", () => {
    const cells = cellsOf({ ...settings, contexts: [512, 1024], concurrency: [1, 2] }, BUILT_IN_PROMPTS);
    assert.deepEqual(
      cells.map((cell) => `${cell.prompt} ${cell.context}×${cell.concurrency}`),
      [
        "short chat 0×1",
        "short chat 0×2",
        "long prefill 512×1",
        "long prefill 512×2",
        "long prefill 1024×1",
        "long prefill 1024×2",
        "tool call 0×1",
        "tool call 0×2",
      ],
    );
    assert.deepEqual(
      cellsOf(settings).map((cell) => cell.context),
      [512],
      "without a prompt set, filler per context as before",
    );
  });

  test("each round measures every server, the order rotating so none always goes first; figures against the first", async () => {
    const { driver, started, asked } = fakeServers();
    const subjects = ["a", "b", "c"].map((name) => ({ name }));
    const run = await runBench(
      {
        subjects,
        cells: cellsOf(settings, BUILT_IN_PROMPTS),
        rounds: 3,
        maxTokens: 16,
        timeoutMs: 1000,
        firstRequest: 1,
        paths: ["direct"],
        prompts: BUILT_IN_PROMPTS,
      },
      driver,
    );
    const orders = run.rounds.map((round) => round.order);
    assert.deepEqual(orders, [
      ["a", "b", "c"],
      ["b", "c", "a"],
      ["c", "a", "b"],
    ]);
    assert.deepEqual(started, orders.flat(), "each server made ready before its turn, every round");
    for (const round of run.rounds) {
      assert.deepEqual(Object.keys(round.ready_ms!).sort(), ["a", "b", "c"], "load time kept apart");
      assert.deepEqual(
        round.steps.map((step) => `${step.subject} ${step.path} ${step.prompt}`),
        round.order.flatMap((server) =>
          ["short chat", LONG_PREFILL, TOOL_CALL].map((prompt) => `${server} direct ${prompt}`),
        ),
      );
    }
    assert.match(readyText(run.rounds, "a"), /^ready in \d+\.\d( s|–\d+\.\d s)$/);
    assert.ok(
      asked.every((request) => request.path === "direct"),
      "a side-by-side run measures directly",
    );

    const measured = asked.filter((request) => request.ask.request && request.ask.maxTokens === 16);
    const texts = measured.map((request) => JSON.stringify(request.ask.request!.messages));
    assert.equal(
      new Set(texts).size,
      texts.length,
      "no two requests the same, so no prompt cache serves one",
    );
    const prefill = measured.find(
      (request) => !request.ask.request!.tools && request.ask.prompt.length > 400,
    );
    assert.ok(prefill, "the long prefill is filler sized to the context");
    const step = run.rounds[0]!.steps.find((candidate) => candidate.prompt === LONG_PREFILL)!;
    assert.equal(step.prompt_target, 512 - 16);
    assert.equal(step.prompt_tokens, 512 - 16);

    const summary = summarize(run.rounds, ["a", "b", "c"]);
    const calls = summary.results
      .filter((result) => result.prompt === TOOL_CALL)
      .map((result) => `${result.subject} ${result.tool_calls!.well_formed}/${result.tool_calls!.answers}`);
    assert.deepEqual(calls, ["a 3/3", "b 0/3", "c 0/3"]);
    assert.ok(
      summary.results.filter((result) => result.prompt !== TOOL_CALL).every((result) => !result.tool_calls),
      "only prompts that offer tools report calls",
    );
    assert.deepEqual(summary.gateway, [], "no gateway figures when the gateway path was not measured");
    const gen = summary.comparisons.filter(
      (comparison) => comparison.metric === "gen_tps" && comparison.prompt === "short chat",
    );
    assert.deepEqual(
      gen.map((comparison) => [comparison.subject, comparison.against, comparison.ratio, comparison.verdict]),
      [
        ["b", "a", 1.5, "better"],
        ["c", "a", 0.5, "worse"],
      ],
    );
  });

  test("requests from a prompt file go as written, numbered, with --tokens only where they set no max_tokens", async () => {
    const { driver, asked } = fakeServers();
    const prompts = parsePromptFile(
      [
        '{"messages": [{"role": "user", "content": "first"}], "temperature": 0}',
        '{"messages": [{"role": "user", "content": "second"}], "max_tokens": 5}',
      ].join("\n"),
      "own.jsonl",
    ) as Exclude<ReturnType<typeof parsePromptFile>, { errors: string[] }>;
    const run = await runBench(
      {
        subjects: [{ name: "a" }, { name: "b" }],
        cells: cellsOf({ ...settings, rounds: 2 }, prompts),
        rounds: 2,
        maxTokens: 16,
        timeoutMs: 1000,
        firstRequest: 100,
        paths: ["direct"],
        prompts,
      },
      driver,
    );
    assert.deepEqual(Object.keys(run.scales), [], "nothing sized to a context, so no probes");
    const first = asked.find((request) => request.ask.request?.temperature === 0)!;
    assert.equal(first.ask.maxTokens, 16);
    assert.match(
      JSON.stringify(first.ask.request!.messages),
      /^\[\{"role":"user","content":"Request \d{6}\. first"\}\]$/,
    );
    const second = asked.find((request) =>
      JSON.stringify(request.ask.request?.messages ?? "").includes("second"),
    )!;
    assert.equal(
      second.ask.request!.max_tokens,
      5,
      "the line's own max_tokens is sent (it wins over --tokens)",
    );
    assert.deepEqual(
      run.rounds[0]!.steps.map((step) => `${step.subject} ${step.prompt} ${step.prompt_target}`),
      ["a own.jsonl:1 null", "a own.jsonl:2 null", "b own.jsonl:1 null", "b own.jsonl:2 null"],
    );
  });

  test("a side-by-side run is recorded with the command that made it", () => {
    assert.equal(
      commandOf("a", {
        ...settings,
        subjects: [{ name: "a" }, { name: "b" }],
        servers: ["a", "b"],
        prompts: "own.jsonl",
      }),
      'rig bench a b --context 512 --concurrency 1 --prompts "own.jsonl"',
    );
    assert.equal(
      commandOf("b", {
        ...settings,
        subjects: [{ name: "a" }, { name: "b" }],
        servers: ["a", "b"],
        prompts: "built-in",
      }),
      "rig bench a b --context 512 --concurrency 1",
    );
  });
});
