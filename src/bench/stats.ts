// The statistics every rig measurement shares (`rig bench` and the repo's own benchmarks): medians,
// and ratios taken within a round so that drift between rounds on a busy machine cancels.

/** The p-th percentile of the values that are numbers (nearest rank); NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** Each round's value over the baseline's in the same round: the median, and the range they spread over. */
export interface RoundRatio {
  ratio: number;
  /** The lowest and highest per-round ratio. */
  spread: [number, number];
}

export function roundRatios(values: readonly number[], baseline: readonly number[]): RoundRatio {
  const ratios = values
    .map((value, round) => value / baseline[round]!)
    .filter((ratio) => Number.isFinite(ratio));
  if (!ratios.length) return { ratio: Number.NaN, spread: [Number.NaN, Number.NaN] };
  return { ratio: median(ratios), spread: [Math.min(...ratios), Math.max(...ratios)] };
}

export type Verdict = "better" | "worse" | "within noise";

/**
 * What a ratio says: a difference counts only when every round agrees on its side of 1, so a 3%
 * difference on a machine whose rounds spread ±10% reads "within noise", not a win.
 */
export function verdict(ratio: RoundRatio, higherIsBetter: boolean): Verdict {
  const [low, high] = ratio.spread;
  if (!(low > 1 || high < 1)) return "within noise";
  return low > 1 === higherIsBetter ? "better" : "worse";
}
