import { statsColumns } from "../../../ledger/stats.ts";
import { type RequestRow, SIDE_BY_SIDE_KEYS, type StatsRow } from "../protocol.ts";

// Numbers the page derives from request rows. Pure, so the tests check them without a browser.

export const SPEED_WINDOW_MS = 60_000;

/** When a request finished (ms since the epoch). */
export function finishedAt(row: RequestRow): number {
  return Date.parse(row.at) + row.duration_ms;
}

/**
 * The time a request spent generating: after its first byte for a stream (before it the prompt was
 * processed), the whole request otherwise.
 */
function generationMs(row: RequestRow): number {
  return row.stream && row.ttfb_ms !== null ? row.duration_ms - row.ttfb_ms : row.duration_ms;
}

/** Completion tokens per second of one request, when it generated any. */
export function tokensPerSecond(row: RequestRow): number | null {
  const ms = generationMs(row);
  return row.completion_tokens && ms > 0 ? (row.completion_tokens * 1000) / ms : null;
}

/**
 * Per server, the generation speed over the requests that finished in the last minute: their
 * completion tokens over their generation time (a mean weighted by tokens, not a mean of means).
 */
export function speedsOverWindow(rows: readonly RequestRow[], now: number): Map<string, number> {
  const totals = new Map<string, { tokens: number; ms: number }>();
  for (const row of rows) {
    if (!row.server || !row.completion_tokens || now - finishedAt(row) > SPEED_WINDOW_MS) continue;
    const total = totals.get(row.server) ?? { tokens: 0, ms: 0 };
    total.tokens += row.completion_tokens;
    total.ms += Math.max(0, generationMs(row));
    totals.set(row.server, total);
  }
  const speeds = new Map<string, number>();
  for (const [server, total] of totals)
    if (total.ms > 0) speeds.set(server, (total.tokens * 1000) / total.ms);
  return speeds;
}

/** A prompt long enough to have had a cached prefix, of which the cache served nothing. */
export function threwCacheAway(row: RequestRow): boolean {
  return row.cached_tokens === 0 && (row.prompt_tokens ?? 0) > 0;
}

/** The activity charts' columns, oldest first: x in seconds, then one series per token kind. */
export function chartColumns(rows: readonly RequestRow[]): {
  tokens: [number[], Array<number | null>, Array<number | null>, Array<number | null>];
  speed: [number[], Array<number | null>];
} {
  const ordered = [...rows].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const seconds = ordered.map((row) => Date.parse(row.at) / 1000);
  return {
    tokens: [
      seconds,
      ordered.map((row) => row.prompt_tokens),
      ordered.map((row) => row.cached_tokens),
      ordered.map((row) => row.completion_tokens),
    ],
    speed: [seconds, ordered.map(tokensPerSecond)],
  };
}

/** One line of the table: the cells `rig stats` prints, for one agent on one server. */
export function sideBySideCells(row: StatsRow): string[] {
  return statsColumns(SIDE_BY_SIDE_KEYS).map((column) => column.cell(row));
}
