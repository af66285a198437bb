// How `rig bench` measures, in-process: prompts sized without a tokenizer, figures read from a streamed
// answer, rounds interleaved, and ratios that call a difference within the noise when the rounds disagree.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fillerPrompt, PROBE_WORDS, promptOnTarget, promptScale, wordsFor } from "../../src/bench/prompt.ts";
import { type BenchDriver, runBench, type Subject } from "../../src/bench/run.ts";
import { ChatStreamReader } from "../../src/bench/stream.ts";
import { type RoundRecord, summarize } from "../../src/bench/summary.ts";
import { parseTokenCount } from "../../src/config/duration.ts";

const chunk = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
const delta = (content: string) => chunk({ choices: [{ index: 0, delta: { content } }] });

describe("prompts of a given size", () => {
  test("two probes give the template's overhead and tokens per word; the prompt then fills the context", () => {
    // A tokenizer that spends 1.5 tokens per filler word and 30 on the template.
    const tokens = (words: number) => Math.round(30 + 1.5 * words);
    const scale = promptScale(PROBE_WORDS.map(tokens));
    assert.deepEqual(scale, { overhead: 30, perWord: 1.5, reported: true });
    const words = wordsFor(4096, 64, scale);
    assert.ok(promptOnTarget(tokens(words), 4096 - 64), `${tokens(words)} tokens`);
    assert.ok(!promptOnTarget(4096, 3000));
  });

  test("a runtime that reports no prompt tokens gets one token per word, and says so", () => {
    assert.deepEqual(promptScale([undefined, undefined]), { overhead: 0, perWord: 1, reported: false });
  });

  test("every request's prompt starts differently, so no prompt cache serves it", () => {
    const [first, second] = [fillerPrompt(100, 7), fillerPrompt(100, 8)];
    assert.notEqual(first.slice(0, 16), second.slice(0, 16));
    assert.equal(first.split(" ").length, second.split(" ").length);
  });

  test("contexts are written as people write them", () => {
    assert.equal(parseTokenCount("4k"), 4096);
    assert.equal(parseTokenCount("32K"), 32768);
    assert.equal(parseTokenCount("1500"), 1500);
    assert.equal(parseTokenCount("0"), undefined);
    assert.equal(parseTokenCount("lots"), undefined);
  });
});

describe("a streamed answer's figures", () => {
  test("llama-server's own timings win; the first token is the first non-empty delta, however the bytes split", () => {
    const reader = new ChatStreamReader();
    const stream =
      chunk({ choices: [{ index: 0, delta: { role: "assistant", content: null } }] }) +
      delta("one") +
      delta(" two") +
      chunk({
        choices: [],
        usage: { prompt_tokens: 500, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 20 } },
        timings: { prompt_per_second: 4000.5, predicted_per_second: 55.25 },
      }) +
      "data: [DONE]\n\n";
    const cut = stream.indexOf("one") - 3;
    reader.push(stream.slice(0, 40), 5);
    reader.push(stream.slice(40, cut), 10);
    reader.push(stream.slice(cut), 30);
    assert.deepEqual(reader.figures(), {
      ttftMs: 30,
      promptTokens: 500,
      cachedTokens: 20,
      completionTokens: 2,
      promptPerSecond: 4000.5,
      generationPerSecond: 55.25,
      timedBy: "runtime",
    });
  });

  test("without runtime timings, speeds come from arrival times and the usage", () => {
    const reader = new ChatStreamReader();
    reader.push(delta("a"), 100);
    for (let index = 1; index <= 10; index++) reader.push(delta(" b"), 100 + index * 20);
    reader.push(chunk({ choices: [], usage: { prompt_tokens: 1000, completion_tokens: 11 } }), 320);
    const figures = reader.figures()!;
    assert.equal(figures.timedBy, "client");
    assert.equal(figures.promptPerSecond, 10_000, "1000 prompt tokens before the first token at 100 ms");
    assert.equal(figures.generationPerSecond, 50, "10 tokens after the first in 200 ms");
  });

  test("an error event is kept; an answer without tokens has no figures", () => {
    const reader = new ChatStreamReader();
    reader.push(chunk({ error: { message: "the request exceeds the available context size" } }), 3);
    assert.equal(reader.error, "the request exceeds the available context size");
    assert.equal(reader.figures(), undefined);
  });
});

/** A driver whose subject `b` generates `speedup` times as fast as `a`, with round-to-round drift. */
function fakeDriver(speedup: number, drift: number[]) {
  const started: string[] = [];
  const asked: Array<{ subject: string; path: string; maxTokens: number }> = [];
  let current = "";
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
      asked.push({
        subject: current,
        path: target.url.includes("gateway") ? "gateway" : "direct",
        maxTokens: ask.maxTokens,
      });
      const words = ask.prompt.split(" ").length - 7;
      const round = Math.min(drift.length - 1, Math.floor(started.length / 2 - 0.5));
      const speed = 50 * drift[round]! * (current.endsWith("b") ? speedup : 1);
      return {
        ttftMs: target.url.includes("gateway") ? 11 : 10,
        promptTokens: 40 + words,
        completionTokens: ask.maxTokens,
        promptPerSecond: 1000,
        generationPerSecond: speed,
        timedBy: "runtime",
      };
    },
  };
  return { driver, started, asked };
}

const plan = (subjects: string[]) => ({
  subjects: subjects.map((name) => ({ name })),
  cells: [{ context: 512, concurrency: 2 }],
  rounds: 3,
  maxTokens: 16,
  timeoutMs: 1000,
  firstRequest: 1,
});

describe("rounds", () => {
  test("subjects take turns round by round, in a rotating order, each on both paths", async () => {
    const { driver, started, asked } = fakeDriver(1, [1, 1, 1]);
    const run = await runBench(plan(["x~a", "x~b"]), driver);
    assert.deepEqual(started, ["x~a", "x~b", "x~b", "x~a", "x~a", "x~b"]);
    assert.deepEqual(
      run.rounds.map((round) => round.order),
      [
        ["x~a", "x~b"],
        ["x~b", "x~a"],
        ["x~a", "x~b"],
      ],
    );
    for (const round of run.rounds)
      assert.deepEqual(round.steps.map((step) => `${step.subject} ${step.path}`).sort(), [
        "x~a direct",
        "x~a gateway",
        "x~b direct",
        "x~b gateway",
      ]);
    const measured = asked.filter((request) => request.maxTokens === 16);
    assert.equal(measured.length, 3 * 2 * 2 * 2, "rounds × subjects × paths × concurrency");
    assert.deepEqual(run.offTarget, [], "prompts sized from the probes hit their target");
    assert.equal(run.rounds[0]!.steps[0]!.prompt_tokens, 512 - 16);
  });

  test("a real difference is reported with its spread; one the rounds disagree on is within noise", async () => {
    const faster = await runBench(plan(["x~a", "x~b"]), fakeDriver(1.3, [1, 0.8, 1.2]).driver);
    const gen = summarize(faster.rounds, ["x~a", "x~b"]).comparisons.find(
      (comparison) => comparison.metric === "gen_tps",
    )!;
    assert.equal(gen.verdict, "better");
    assert.ok(Math.abs(gen.ratio - 1.3) < 1e-9, `${gen.ratio}`);

    // b is 3% faster in the median round but slower in another: a noisy machine, not a win.
    const rounds: RoundRecord[] = [0.97, 1.03, 1.05].map((ratio, index) => ({
      round: index + 1,
      order: ["x~a", "x~b"],
      steps: (["x~a", "x~b"] as const).map((subject) => ({
        subject,
        path: "direct" as const,
        context: 512,
        concurrency: 1,
        ttft_ms: 10,
        prompt_tps: 1000,
        gen_tps: subject === "x~b" ? 50 * ratio : 50,
        throughput_tps: 50,
        prompt_target: 496,
        prompt_tokens: 496,
        completion_tokens: 16,
        timed_by: "runtime" as const,
      })),
    }));
    const noisy = summarize(rounds, ["x~a", "x~b"]).comparisons.find(
      (comparison) => comparison.metric === "gen_tps",
    )!;
    assert.equal(noisy.verdict, "within noise");
    assert.deepEqual(noisy.spread, [0.97, 1.05]);
  });

  test("the gateway's cost is the per-round difference from direct", async () => {
    const run = await runBench(plan(["x"]), fakeDriver(1, [1, 1, 1]).driver);
    const [cost] = summarize(run.rounds, ["x"]).gateway;
    assert.equal(cost!.added_ttft_ms, 1);
    assert.equal(cost!.gen_ratio.ratio, 1);
  });
});
