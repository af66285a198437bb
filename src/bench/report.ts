import { formatTokenCount } from "../config/duration.ts";
import type { PromptScale } from "./prompt.ts";
import { BUILT_IN } from "./prompts.ts";
import type { Subject } from "./run.ts";
import type { BenchSummary, CellSummary, Comparison, RoundRecord } from "./summary.ts";

/** How a run was asked for: stored with it, so its figures can be read later. */
export interface BenchSettings {
  contexts: number[];
  concurrency: number[];
  rounds: number;
  max_tokens: number;
  /** `--vary` as typed, or null. */
  vary: string | null;
  subjects: Subject[];
  /** The servers of a side-by-side run, as named on the command line (absent for one server). */
  servers?: string[];
  /** The prompt set: `--prompts` as typed, or "built-in"; absent for filler sized to each context. */
  prompts?: string;
}

/** The figures of a run as the ledger keeps them (`results`). */
export interface BenchResults extends BenchSummary {
  rounds: RoundRecord[];
  prompt: {
    scales: Record<string, PromptScale>;
    off_target: Array<{ subject: string; context: number; target: number; reported: number }>;
  };
}

/** A stored run, as `rig bench --history` and docs/STACK.md read it back. */
export interface StoredRun {
  at: string;
  profile_hash: string;
  settings: BenchSettings;
  results: BenchResults;
}

const METRIC_WORDS: Record<Comparison["metric"], string> = {
  ttft_ms: "first token",
  prompt_tps: "prompt",
  gen_tps: "generation",
  throughput_tps: "throughput",
};

const fixed = (value: number | null, digits: number) => (value === null ? "-" : value.toFixed(digits));
export const ms = (value: number | null) => (value === null ? "-" : `${fixed(value, value < 10 ? 2 : 1)} ms`);
export const perSecond = (value: number | null) => (value === null ? "-" : fixed(value, value < 100 ? 1 : 0));
export const cellName = (cell: { context: number; concurrency: number; prompt?: string }) =>
  `${cell.prompt ? `${cell.prompt} ` : ""}${cell.context ? `${formatTokenCount(cell.context)} ` : ""}×${cell.concurrency}`;

function ratioText(comparison: Pick<Comparison, "ratio" | "spread" | "verdict">): string {
  const [low, high] = comparison.spread;
  return `${fixed(comparison.ratio, 2)}× (${fixed(low, 2)}–${fixed(high, 2)}, ${comparison.verdict})`;
}

/** The command that made a run, as a person would type it again. */
export function commandOf(server: string, settings: BenchSettings): string {
  const contexts = settings.contexts.map(formatTokenCount).join(",");
  const vary = settings.vary === null ? "" : ` --vary ${JSON.stringify(settings.vary)}`;
  const prompts =
    settings.prompts && settings.prompts !== BUILT_IN ? ` --prompts ${JSON.stringify(settings.prompts)}` : "";
  const servers = settings.servers?.join(" ") ?? server;
  return `rig bench ${servers} --context ${contexts} --concurrency ${settings.concurrency.join(",")}${vary}${prompts}`;
}

/** How long a subject took to be ready over the rounds, "ready in 0.0–4.2 s": a start or swap at most. */
export function readyText(rounds: readonly RoundRecord[], subject: string): string {
  const waits = rounds.flatMap((round) => round.ready_ms?.[subject] ?? []);
  if (!waits.length) return "";
  const seconds = (value: number) => (value / 1000).toFixed(1);
  const [low, high] = [Math.min(...waits), Math.max(...waits)];
  return `ready in ${low === high ? seconds(low) : `${seconds(low)}–${seconds(high)}`} s`;
}

/** "2/3" answers with a well-formed call, for prompts that offer tools. */
export const toolCallText = (result: Pick<CellSummary, "tool_calls">) =>
  result.tool_calls ? `${result.tool_calls.well_formed}/${result.tool_calls.answers}` : "-";

function directFigures(result: CellSummary): string {
  const calls = result.tool_calls ? `, well-formed tool calls ${toolCallText(result)}` : "";
  return `first token ${ms(result.ttft_ms)}, prompt ${perSecond(result.prompt_tps)} tok/s, generation ${perSecond(result.gen_tps)} tok/s${calls}`;
}

/** How a subject is named in comparisons: a variant by its flags, a server by its name. */
export function subjectLabel(subjects: readonly Subject[], name: string): string {
  const subject = subjects.find((candidate) => candidate.name === name);
  if (subject?.vary === undefined) return name;
  return subject.vary.join(" ") || "as written";
}

/**
 * One line per cell saying what a run found: for a profile, its direct figures and what the gateway
 * added; for a `--vary` run, each variant against the first, metric by metric with its spread.
 */
export function headlines(run: StoredRun): string[] {
  const { results, settings } = run;
  if (settings.subjects.length > 1) {
    const words = (name: string) => subjectLabel(settings.subjects, name);
    const lines = new Map<string, string[]>();
    for (const comparison of results.comparisons) {
      const key = `${comparison.subject} ${cellName(comparison)}`;
      const line = lines.get(key) ?? [
        `\`${words(comparison.subject)}\` vs \`${words(comparison.against)}\`, ${cellName(comparison)}:`,
      ];
      line.push(`${METRIC_WORDS[comparison.metric]} ${ratioText(comparison)}`);
      lines.set(key, line);
    }
    return [...lines.values()].map(([head, ...parts]) => `${head} ${parts.join(", ")}`);
  }
  return results.results
    .filter((result) => result.path === "direct")
    .map((result) => {
      const cost = results.gateway.find(
        (entry) =>
          entry.context === result.context &&
          entry.concurrency === result.concurrency &&
          entry.prompt === result.prompt,
      );
      const added = cost?.added_ttft_ms;
      const through =
        added === null || added === undefined
          ? ""
          : // The median of each round's difference: not the difference of the medians in the table.
            `; through the gateway ${added >= 0 ? "+" : ""}${ms(added)} to first token (median of the rounds' differences)`;
      return `${cellName(result)}: ${directFigures(result)}${through}`;
    });
}
