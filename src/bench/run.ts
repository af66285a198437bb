import { performance } from "node:perf_hooks";
import type { ChatAsk, ChatTarget } from "./client.ts";
import {
  fillerPrompt,
  PROBE_WORDS,
  type PromptScale,
  promptOnTarget,
  promptScale,
  wordsFor,
} from "./prompt.ts";
import { median } from "./stats.ts";
import type { AnswerFigures } from "./stream.ts";
import type { BenchPath, Cell, RoundRecord, StepResult } from "./summary.ts";

/** What is measured: a server as its profile says, or one of the variants of a `--vary` run. */
export interface Subject {
  name: string;
  /** The variant's own words (`--flash-attn on`); absent for a profile measured as written. */
  vary?: string[];
}

export interface BenchPlan {
  subjects: Subject[];
  cells: Cell[];
  rounds: number;
  maxTokens: number;
  /** The longest silent wait for one answer. */
  timeoutMs: number;
  /** The first request's number (prompts are numbered so no prompt cache serves them). */
  firstRequest: number;
}

export interface Endpoints {
  gateway: ChatTarget;
  direct: ChatTarget;
}

/** The effects a run needs: a subject brought to ready through the daemon, and a timed request. */
export interface BenchDriver {
  ready(subject: Subject): Promise<Endpoints>;
  ask(target: ChatTarget, ask: ChatAsk): Promise<AnswerFigures>;
  progress?(done: number, total: number, doing: string): void;
}

export interface BenchRun {
  rounds: RoundRecord[];
  /** Each subject's prompt scale, measured by two probes when it was first ready. */
  scales: Record<string, PromptScale>;
  /** Steps whose reported prompt size missed the target (a tokenizer the filler does not suit). */
  offTarget: Array<{ subject: string; context: number; target: number; reported: number }>;
}

/** `items` rotated left by `by`: every round starts with the next one, so no subject or path is always first. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = items.length ? by % items.length : 0;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

const PATHS: BenchPath[] = ["direct", "gateway"];

/**
 * Measures every subject on both paths at every cell, interleaved: round by round, each subject in turn
 * (brought to ready, which swaps out the one before it), the order rotating every round, so drift on
 * a busy machine falls on every subject alike and per-round ratios cancel it.
 */
export async function runBench(plan: BenchPlan, driver: BenchDriver): Promise<BenchRun> {
  let requestNumber = plan.firstRequest;
  const scales: Record<string, PromptScale> = {};
  const rounds: RoundRecord[] = [];
  const offTarget: BenchRun["offTarget"] = [];
  const total = plan.rounds * plan.subjects.length * PATHS.length * plan.cells.length;
  let done = 0;
  const ask = (target: ChatTarget, words: number, maxTokens: number) =>
    driver.ask(target, {
      prompt: fillerPrompt(words, requestNumber++),
      maxTokens,
      timeoutMs: plan.timeoutMs,
    });

  for (let round = 0; round < plan.rounds; round++) {
    const order = rotate(plan.subjects, round);
    const record: RoundRecord = { round: round + 1, order: order.map((subject) => subject.name), steps: [] };
    rounds.push(record);
    for (const subject of order) {
      driver.progress?.(done, total, `round ${round + 1}/${plan.rounds}: starting ${subject.name}`);
      const endpoints = await driver.ready(subject);
      // The first answers after a start are slower (buffers allocated, caches cold) on every path.
      for (const path of PATHS) await ask(endpoints[path], PROBE_WORDS[0], 4);
      scales[subject.name] ??= promptScale(
        await Promise.all(
          PROBE_WORDS.map(async (words) => (await ask(endpoints.direct, words, 1)).promptTokens),
        ),
      );
      const scale = scales[subject.name]!;
      for (const path of rotate(PATHS, round)) {
        for (const cell of plan.cells) {
          driver.progress?.(
            done,
            total,
            `round ${round + 1}/${plan.rounds}: ${subject.name} ${path}, context ${cell.context} ×${cell.concurrency}`,
          );
          const target = cell.context - plan.maxTokens;
          const words = wordsFor(cell.context, plan.maxTokens, scale);
          const step = await measureStep(subject.name, path, cell, target, () =>
            words < 1
              ? Promise.reject(new Error(`context ${cell.context} leaves no room for a prompt`))
              : ask(endpoints[path], words, plan.maxTokens),
          );
          if (scale.reported && step.prompt_tokens !== null && !promptOnTarget(step.prompt_tokens, target))
            offTarget.push({
              subject: subject.name,
              context: cell.context,
              target,
              reported: step.prompt_tokens,
            });
          record.steps.push(step);
          done++;
        }
      }
    }
  }
  driver.progress?.(done, total, "done");
  return { rounds, scales, offTarget };
}

/** `concurrency` requests at once; the step's figures are their medians, its throughput their sum over its wall time. */
async function measureStep(
  subject: string,
  path: BenchPath,
  cell: Cell,
  promptTarget: number,
  send: () => Promise<AnswerFigures>,
): Promise<StepResult> {
  const started = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: cell.concurrency }, send));
  const wallSeconds = (performance.now() - started) / 1000;
  const answers = settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === "rejected");
  const of = (pick: (answer: AnswerFigures) => number | undefined) => {
    const value = median(answers.flatMap((answer) => pick(answer) ?? []));
    return Number.isNaN(value) ? null : value;
  };
  const completion = answers.reduce((sum, answer) => sum + answer.completionTokens, 0);
  return {
    subject,
    path,
    ...cell,
    ttft_ms: of((answer) => answer.ttftMs),
    prompt_tps: of((answer) => answer.promptPerSecond),
    gen_tps: of((answer) => answer.generationPerSecond),
    throughput_tps: failure ? null : completion / wallSeconds,
    prompt_target: promptTarget,
    prompt_tokens: of((answer) => answer.promptTokens),
    completion_tokens: completion,
    timed_by: answers[0]?.timedBy ?? null,
    ...(failure ? { error: (failure.reason as Error).message } : {}),
  };
}
