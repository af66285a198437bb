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
import { type BenchPrompt, numberedMessages, wellFormedCalls } from "./prompts.ts";
import { median } from "./stats.ts";
import type { AnswerFigures } from "./stream.ts";
import type { BenchPath, Cell, RoundRecord, StepResult } from "./summary.ts";

/** What is measured: a server as its profile says, or one of the variants of a `--vary` run. */
export interface Subject {
  name: string;
  /** The variant's own words (`--flash-attn on`); absent for a profile measured as written. */
  vary?: string[];
}

/** Both paths: a server's figures and what the gateway adds. */
const BOTH_PATHS: readonly BenchPath[] = ["direct", "gateway"];

export interface BenchPlan {
  subjects: Subject[];
  cells: Cell[];
  rounds: number;
  maxTokens: number;
  /** The longest silent wait for one answer. */
  timeoutMs: number;
  /** The first request's number (prompts are numbered so no prompt cache serves them). */
  firstRequest: number;
  /** The paths every cell is measured on; both unless the run compares servers on a prompt set. */
  paths?: readonly BenchPath[];
  /** The prompt set the cells' `prompt` names come from. */
  prompts?: readonly BenchPrompt[];
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
  const paths = plan.paths ?? BOTH_PATHS;
  const total = plan.rounds * plan.subjects.length * paths.length * plan.cells.length;
  let done = 0;
  const promptOf = (cell: Cell) => plan.prompts?.find((prompt) => prompt.name === cell.prompt);
  const sized = (cell: Cell) => !cell.prompt || promptOf(cell)?.fillsContext === true;
  /** A filler prompt of `words` words, inside the cell's request when the prompt set has one. */
  const ask = (target: ChatTarget, words: number, maxTokens: number, prompt?: BenchPrompt) => {
    const number = requestNumber++;
    const filler = fillerPrompt(words, number);
    const request = prompt && {
      ...prompt.request,
      messages: prompt.fillsContext
        ? [{ role: "user", content: filler }]
        : numberedMessages(prompt.request.messages as unknown[], number),
    };
    return driver.ask(target, {
      prompt: filler,
      maxTokens,
      timeoutMs: plan.timeoutMs,
      ...(request ? { request } : {}),
    });
  };

  for (let round = 0; round < plan.rounds; round++) {
    const order = rotate(plan.subjects, round);
    const record: RoundRecord = {
      round: round + 1,
      order: order.map((subject) => subject.name),
      ready_ms: {},
      steps: [],
    };
    rounds.push(record);
    for (const subject of order) {
      driver.progress?.(done, total, `round ${round + 1}/${plan.rounds}: starting ${subject.name}`);
      // Loading is timed on its own and never falls inside a measured step.
      const asked = performance.now();
      const endpoints = await driver.ready(subject);
      record.ready_ms![subject.name] = Math.round(performance.now() - asked);
      // The first answers after a start are slower (buffers allocated, caches cold) on every path.
      for (const path of paths) await ask(endpoints[path], PROBE_WORDS[0], 4);
      if (plan.cells.some(sized))
        scales[subject.name] ??= promptScale(
          await Promise.all(
            PROBE_WORDS.map(async (words) => (await ask(endpoints.direct, words, 1)).promptTokens),
          ),
        );
      const scale = scales[subject.name];
      for (const path of rotate(paths, round)) {
        for (const cell of plan.cells) {
          driver.progress?.(
            done,
            total,
            `round ${round + 1}/${plan.rounds}: ${subject.name} ${path}, ${cell.prompt ?? "context"} ${cell.prompt && !sized(cell) ? "" : `${cell.context} `}×${cell.concurrency}`,
          );
          const prompt = promptOf(cell);
          const target = scale && sized(cell) ? cell.context - plan.maxTokens : null;
          const words = scale && sized(cell) ? wordsFor(cell.context, plan.maxTokens, scale) : 0;
          const step = await measureStep(
            subject.name,
            path,
            cell,
            target,
            Boolean(prompt?.request.tools),
            () =>
              target !== null && words < 1
                ? Promise.reject(new Error(`context ${cell.context} leaves no room for a prompt`))
                : ask(endpoints[path], words, plan.maxTokens, prompt),
          );
          if (
            scale?.reported &&
            target !== null &&
            step.prompt_tokens !== null &&
            !promptOnTarget(step.prompt_tokens, target)
          )
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
  promptTarget: number | null,
  toolsOffered: boolean,
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
    ...(toolsOffered
      ? {
          tool_calls: {
            well_formed: answers.filter((answer) => wellFormedCalls(answer.toolCalls ?? [])).length,
            answers: answers.length,
          },
        }
      : {}),
    ...(failure ? { error: (failure.reason as Error).message } : {}),
  };
}
