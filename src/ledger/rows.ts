// What the ledger stores, as callers hand it in (records) and read it back (rows), and the decoding
// between the two.

const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|AUTH|CREDENTIAL/i;

export function redactEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [key, SECRET_NAME.test(key) ? "<redacted>" : value]),
  );
}

export interface LaunchRecord {
  server: string;
  runtime: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  configHash: string;
  profileHash: string;
  modelFingerprint?: unknown;
  pid?: number;
  port?: number;
}

export interface LaunchRow {
  id: number;
  server: string;
  runtime: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  config_hash: string;
  profile_hash: string;
  model_fingerprint: unknown;
  pid: number | null;
  port: number | null;
  started_at: string;
  ready_at: string | null;
  ready_ms: number | null;
  stopped_at: string | null;
  exit_code: number | null;
  exit_signal: string | null;
  outcome: string | null;
  log_tail: string | null;
  memory_bytes: number | null;
  memory_estimate_bytes: number | null;
}

export type RawRow = Omit<LaunchRow, "argv" | "env" | "model_fingerprint"> & {
  argv: string;
  env: string;
  model_fingerprint: string | null;
};

export function decode(row: RawRow): LaunchRow {
  return {
    ...row,
    argv: JSON.parse(row.argv),
    env: JSON.parse(row.env),
    model_fingerprint: row.model_fingerprint ? JSON.parse(row.model_fingerprint) : null,
  };
}

/** Tokens an upstream reported for one request. */
export interface Usage {
  prompt: number;
  completion: number;
  cached?: number;
}

/**
 * What one exchange's answer did with the tools it was offered, from the gateway's own view. `made`
 * and `unoffered` are null when rig could not see the calls (a stream relayed natively: rig reads only
 * its head and tail); `repaired` and `extracted` count what rig itself did, so they are 0 when it
 * relayed the answer untouched.
 */
export interface ToolTally {
  /** Tools the request offered. */
  offered: number;
  /** Tool calls the answer made. */
  made: number | null;
  /** Calls whose arguments did not parse as JSON until rig repaired them. */
  repaired: number;
  /** Calls the model wrote as text, which rig extracted into real calls. */
  extracted: number;
  /** Calls naming a tool the request did not offer. */
  unoffered: number | null;
  /** The answer was cut by the token limit. */
  cut: boolean;
  /** The runtime failed the exchange: unreachable, an error status, an error event, or cut off mid-answer. */
  upstreamError: boolean;
}

/** One finished request through the gateway: a row of `requests`, a gateway log line, a metrics sample. */
export interface RequestRecord {
  method: string;
  path: string;
  server?: string;
  agent?: string;
  route: string;
  status: number;
  stream: boolean;
  startedAt: number;
  ttfbMs?: number;
  durationMs: number;
  usage?: Usage;
  tools?: ToolTally;
  error?: string;
}

/** A row of `requests`, as the ledger stores it and the page shows it. */
export interface RequestRow {
  /** Absent until the row is written (a request streamed to the page as it finishes). */
  id?: number;
  /** ISO time the request arrived. */
  at: string;
  server: string | null;
  agent: string | null;
  route: string;
  status: number;
  stream: boolean;
  ttfb_ms: number | null;
  duration_ms: number;
  prompt_tokens: number | null;
  cached_tokens: number | null;
  completion_tokens: number | null;
  error: string | null;
}

export function requestRow(entry: RequestRecord): RequestRow {
  return {
    at: new Date(entry.startedAt).toISOString(),
    server: entry.server ?? null,
    agent: entry.agent ?? null,
    route: entry.route,
    status: entry.status,
    stream: entry.stream,
    ttfb_ms: entry.ttfbMs ?? null,
    duration_ms: entry.durationMs,
    prompt_tokens: entry.usage?.prompt ?? null,
    cached_tokens: entry.usage?.cached ?? null,
    completion_tokens: entry.usage?.completion ?? null,
    error: entry.error ?? null,
  };
}

export interface RequestFilter {
  server?: string;
  agent?: string;
  limit?: number;
}

export const REQUEST_COLUMNS = [
  "at",
  "server",
  "agent",
  "route",
  "status",
  "stream",
  "ttfb_ms",
  "duration_ms",
  "prompt_tokens",
  "cached_tokens",
  "completion_tokens",
  "error",
] as const;

/**
 * A ToolTally as the `requests` columns `rig stats` sums (not part of RequestRow: the page reads them
 * summed); all null on requests that never reached a runtime's answer path.
 */
export function tallyColumns(
  tally: ToolTally | undefined,
): Record<(typeof TALLY_COLUMNS)[number], number | null> {
  const flag = (value: boolean | undefined) => (value === undefined ? null : value ? 1 : 0);
  return {
    tools_offered: tally?.offered ?? null,
    tool_calls: tally?.made ?? null,
    tool_calls_repaired: tally?.repaired ?? null,
    tool_calls_extracted: tally?.extracted ?? null,
    tool_calls_unoffered: tally?.unoffered ?? null,
    answer_cut: flag(tally?.cut),
    upstream_error: flag(tally?.upstreamError),
  };
}

export const TALLY_COLUMNS = [
  "tools_offered",
  "tool_calls",
  "tool_calls_repaired",
  "tool_calls_extracted",
  "tool_calls_unoffered",
  "answer_cut",
  "upstream_error",
] as const;

/** One `rig bench` run as the bench command hands it over; `settings` and `results` are its own JSON. */
export interface BenchRecord {
  server: string;
  runtime: string;
  runtimeVersion: string | null;
  configHash: string;
  profileHash: string;
  modelFingerprint?: unknown;
  machine: unknown;
  settings: unknown;
  results: unknown;
}

/** A row of `bench_runs`, its JSON columns decoded. */
export interface BenchRow {
  id: number;
  server: string;
  /** ISO time the run was recorded. */
  at: string;
  runtime: string;
  runtime_version: string | null;
  config_hash: string;
  profile_hash: string;
  model_fingerprint: unknown;
  machine: unknown;
  settings: unknown;
  results: unknown;
}

const BENCH_JSON = ["model_fingerprint", "machine", "settings", "results"] as const;

export function decodeBench(row: Record<string, unknown>): BenchRow {
  const decoded = { ...row };
  for (const column of BENCH_JSON)
    decoded[column] = typeof row[column] === "string" ? JSON.parse(row[column] as string) : null;
  return decoded as unknown as BenchRow;
}
