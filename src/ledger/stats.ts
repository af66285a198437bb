// `rig stats`: the requests table summed per agent, per server or per agent and server.

/** What the rows are grouped by. */
export type StatsKey = "agent" | "server";

export const STATS_GROUPINGS: Record<string, StatsKey[]> = {
  agent: ["agent"],
  server: ["server"],
  "agent,server": ["agent", "server"],
};

/** One group's sums. Agent or server is null for requests made without one (a route by model name, a refusal). */
export interface StatsRow {
  agent?: string | null;
  server?: string | null;
  requests: number;
  tools_offered: number;
  tool_calls: number;
  tool_calls_repaired: number;
  tool_calls_extracted: number;
  tool_calls_unoffered: number;
  /** Requests that offered tools whose calls rig could not see (streams relayed natively). */
  tool_calls_unseen: number;
  answers_cut: number;
  upstream_errors: number;
  prompt_tokens: number;
  cached_tokens: number;
  /** The share of prompt tokens the runtime's cache served, over the turns that reported both; null with none. */
  cache_reuse: number | null;
  /** Turns with a prompt of which the cache served nothing. */
  cache_misses: number;
}

/** The query for one grouping, from `since` (ISO time) on, the busiest group first. */
export function statsSql(
  by: readonly StatsKey[],
  since: string | undefined,
): { sql: string; values: string[] } {
  const keys = by.join(", ");
  const sql = `SELECT ${keys},
      COUNT(*) AS requests,
      COALESCE(SUM(tools_offered), 0) AS tools_offered,
      COALESCE(SUM(tool_calls), 0) AS tool_calls,
      COALESCE(SUM(tool_calls_repaired), 0) AS tool_calls_repaired,
      COALESCE(SUM(tool_calls_extracted), 0) AS tool_calls_extracted,
      COALESCE(SUM(tool_calls_unoffered), 0) AS tool_calls_unoffered,
      COALESCE(SUM(tools_offered > 0 AND tool_calls IS NULL), 0) AS tool_calls_unseen,
      COALESCE(SUM(answer_cut), 0) AS answers_cut,
      COALESCE(SUM(upstream_error), 0) AS upstream_errors,
      COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,
      COALESCE(SUM(cached_tokens), 0) AS cached_tokens,
      SUM(CASE WHEN cached_tokens IS NOT NULL THEN prompt_tokens END) AS prompt_with_cache,
      COALESCE(SUM(cached_tokens = 0 AND prompt_tokens > 0), 0) AS cache_misses
    FROM requests ${since === undefined ? "" : "WHERE at >= ?"}
    GROUP BY ${keys} ORDER BY requests DESC, ${keys}`;
  return { sql, values: since === undefined ? [] : [since] };
}

/** A result row as the query returns it, its cache reuse worked out. */
export function statsRow(raw: Record<string, unknown>): StatsRow {
  const { prompt_with_cache, ...row } = raw as unknown as StatsRow & { prompt_with_cache: number | null };
  return {
    ...row,
    cache_reuse: prompt_with_cache ? row.cached_tokens / prompt_with_cache : null,
  };
}

/** One column of the stats table, as `rig stats` prints it and the page shows it. */
export interface StatsColumn {
  title: string;
  /** What the count means where the title does not say it (the page's tooltip, the CLI's notes). */
  hint?: string;
  cell(row: StatsRow): string;
}

const KEY_COLUMNS: Record<StatsKey, StatsColumn> = {
  // No server: the gateway refused the request before routing it (an unknown model, a body not JSON).
  agent: { title: "agent", cell: (row) => row.agent ?? (row.server === null ? "(none)" : "(by model name)") },
  server: { title: "server", cell: (row) => row.server ?? "(refused)" },
};

const COUNT_COLUMNS: StatsColumn[] = [
  { title: "requests", cell: (row) => String(row.requests) },
  { title: "tools offered", cell: (row) => String(row.tools_offered) },
  {
    title: "calls",
    hint: "streams unseen: requests streamed natively; rig relays them untouched and does not count their calls",
    cell: (row) =>
      `${row.tool_calls}${row.tool_calls_unseen ? ` (+${row.tool_calls_unseen} streams unseen)` : ""}`,
  },
  {
    title: "repaired",
    hint: "arguments that did not parse until rig repaired them",
    cell: (row) => String(row.tool_calls_repaired),
  },
  {
    title: "extracted",
    hint: "calls the model wrote as text, turned into calls by rig",
    cell: (row) => String(row.tool_calls_extracted),
  },
  {
    title: "unoffered",
    hint: "calls naming a tool the request did not offer",
    cell: (row) => String(row.tool_calls_unoffered),
  },
  { title: "cut", hint: "answers cut by the token limit", cell: (row) => String(row.answers_cut) },
  { title: "upstream errors", cell: (row) => String(row.upstream_errors) },
  {
    title: "cache reuse",
    hint: "prompt tokens the runtime's cache served",
    cell: (row) =>
      `${row.cache_reuse === null ? "" : `${Math.round(row.cache_reuse * 100)}%`}${
        row.cache_misses ? ` (${row.cache_misses} missed)` : ""
      }`,
  },
];

/** The table's columns for one grouping: its keys, then the counts. */
export function statsColumns(keys: readonly StatsKey[]): StatsColumn[] {
  return [...keys.map((key) => KEY_COLUMNS[key]), ...COUNT_COLUMNS];
}
