import { formatTokenCount, type PromptScale } from "./prompt.ts";
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
export const cellName = (cell: { context: number; concurrency: number }) =>
  `${formatTokenCount(cell.context)} ×${cell.concurrency}`;

export function ratioText(comparison: Pick<Comparison, "ratio" | "spread" | "verdict">): string {
  const [low, high] = comparison.spread;
  return `${fixed(comparison.ratio, 2)}× (${fixed(low, 2)}–${fixed(high, 2)}, ${comparison.verdict})`;
}

/** The command that made a run, as a person would type it again. */
export function commandOf(server: string, settings: BenchSettings): string {
  const contexts = settings.contexts.map(formatTokenCount).join(",");
  const vary = settings.vary === null ? "" : ` --vary ${JSON.stringify(settings.vary)}`;
  return `rig bench ${server} --context ${contexts} --concurrency ${settings.concurrency.join(",")}${vary}`;
}

function directFigures(result: CellSummary): string {
  return `first token ${ms(result.ttft_ms)}, prompt ${perSecond(result.prompt_tps)} tok/s, generation ${perSecond(result.gen_tps)} tok/s`;
}

/**
 * One line per cell saying what a run found: for a profile, its direct figures and what the gateway
 * added; for a `--vary` run, each variant against the first, metric by metric with its spread.
 */
export function headlines(run: StoredRun): string[] {
  const { results, settings } = run;
  if (settings.subjects.length > 1) {
    const words = (name: string) =>
      settings.subjects.find((subject) => subject.name === name)?.vary?.join(" ") || "as written";
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
        (entry) => entry.context === result.context && entry.concurrency === result.concurrency,
      );
      const added = cost?.added_ttft_ms;
      const through =
        added === null || added === undefined
          ? ""
          : `; through the gateway ${added >= 0 ? "+" : ""}${ms(added)}`;
      return `${cellName(result)}: ${directFigures(result)}${through}`;
    });
}
