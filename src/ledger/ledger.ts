import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

/** Numbered migrations: each runs once, in order, inside a transaction; user_version records the last. */
/** The schema, one numbered step each; `user_version` says how many a database has run. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE launches (
     id INTEGER PRIMARY KEY,
     server TEXT NOT NULL,
     runtime TEXT NOT NULL,
     argv TEXT NOT NULL,
     env TEXT NOT NULL,
     cwd TEXT NOT NULL,
     config_hash TEXT NOT NULL,
     profile_hash TEXT NOT NULL,
     model_fingerprint TEXT,
     pid INTEGER,
     port INTEGER,
     started_at TEXT NOT NULL,
     ready_at TEXT,
     ready_ms INTEGER,
     stopped_at TEXT,
     exit_code INTEGER,
     exit_signal TEXT,
     outcome TEXT,
     log_tail TEXT
   );
   CREATE INDEX launches_by_server ON launches (server, id);`,
  `CREATE TABLE requests (
     id INTEGER PRIMARY KEY,
     at TEXT NOT NULL,
     server TEXT,
     agent TEXT,
     route TEXT NOT NULL,
     status INTEGER NOT NULL,
     stream INTEGER NOT NULL,
     ttfb_ms REAL,
     duration_ms REAL NOT NULL,
     prompt_tokens INTEGER,
     completion_tokens INTEGER,
     error TEXT
   );
   CREATE INDEX requests_by_server ON requests (server, id);`,
  // Prompt tokens the runtime's cache served: a turn that threw the cache away shows as 0 here.
  `ALTER TABLE requests ADD COLUMN cached_tokens INTEGER;
   CREATE INDEX requests_by_agent ON requests (agent, id);`,
  // What each launch was measured using (its peak) beside what rig counted it as before it ran; a
  // profile's next launch starts from its last measurement.
  `ALTER TABLE launches ADD COLUMN memory_bytes INTEGER;
   ALTER TABLE launches ADD COLUMN memory_estimate_bytes INTEGER;
   CREATE INDEX launches_by_profile ON launches (profile_hash, id);`,
  // `rig bench` runs: what was measured, on which build of which runtime, on which machine, and the figures.
  `CREATE TABLE bench_runs (
     id INTEGER PRIMARY KEY,
     server TEXT NOT NULL,
     at TEXT NOT NULL,
     runtime TEXT NOT NULL,
     runtime_version TEXT,
     config_hash TEXT NOT NULL,
     profile_hash TEXT NOT NULL,
     model_fingerprint TEXT,
     machine TEXT NOT NULL,
     settings TEXT NOT NULL,
     results TEXT NOT NULL
   );
   CREATE INDEX bench_runs_by_server ON bench_runs (server, id);`,
];

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

type RawRow = Omit<LaunchRow, "argv" | "env" | "model_fingerprint"> & {
  argv: string;
  env: string;
  model_fingerprint: string | null;
};

function decode(row: RawRow): LaunchRow {
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

const REQUEST_COLUMNS = [
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

function decodeBench(row: Record<string, unknown>): BenchRow {
  const decoded = { ...row };
  for (const column of BENCH_JSON)
    decoded[column] = typeof row[column] === "string" ? JSON.parse(row[column] as string) : null;
  return decoded as unknown as BenchRow;
}

/** The SQLite record of every launch (state/rig.db). Only the daemon writes; commands read. */
export class Ledger {
  private readonly db: Database.Database;
  private insertRequest?: Database.Statement;

  constructor(path: string, options: { readonly?: boolean } = {}) {
    if (!options.readonly) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
    });
    if (!options.readonly) {
      this.db.pragma("journal_mode = WAL");
      // WAL with synchronous=NORMAL: durable against a crash of rig, one fsync per checkpoint, not per request.
      this.db.pragma("synchronous = NORMAL");
      // Writes run on the daemon's event loop: wait for another writer's lock briefly, then drop the
      // batch (counted in /metrics) rather than stall every stream for seconds.
      this.db.pragma("busy_timeout = 200");
      this.migrate();
    }
  }

  private migrate(): void {
    const current = this.db.pragma("user_version", { simple: true }) as number;
    MIGRATIONS.slice(current).forEach((sql, index) => {
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.pragma(`user_version = ${current + index + 1}`);
      })();
    });
  }

  /** False once closed: the daemon closes its ledger last, when it stops. */
  get open(): boolean {
    return this.db.open;
  }

  launchStarted(record: LaunchRecord): number {
    const result = this.db
      .prepare(
        `INSERT INTO launches (server, runtime, argv, env, cwd, config_hash, profile_hash, model_fingerprint, pid, port, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        record.server,
        record.runtime,
        JSON.stringify(record.argv),
        JSON.stringify(redactEnv(record.env)),
        record.cwd,
        record.configHash,
        record.profileHash,
        record.modelFingerprint ? JSON.stringify(record.modelFingerprint) : null,
        record.pid ?? null,
        record.port ?? null,
        new Date().toISOString(),
      );
    return Number(result.lastInsertRowid);
  }

  launchReady(id: number, readyMs: number): void {
    this.db
      .prepare("UPDATE launches SET ready_at = ?, ready_ms = ? WHERE id = ?")
      .run(new Date().toISOString(), Math.round(readyMs), id);
  }

  launchEnded(
    id: number,
    end: { exitCode: number | null; signal: string | null; outcome: string; logTail?: string },
  ): void {
    this.db
      .prepare(
        "UPDATE launches SET stopped_at = ?, exit_code = ?, exit_signal = ?, outcome = ?, log_tail = ? WHERE id = ? AND stopped_at IS NULL",
      )
      .run(new Date().toISOString(), end.exitCode, end.signal, end.outcome, end.logTail ?? null, id);
  }

  /** What a launch was measured using (its peak so far), and what rig counted it as before it ran. */
  launchMemory(id: number, measuredBytes: number, estimateBytes: number | undefined): void {
    this.db
      .prepare("UPDATE launches SET memory_bytes = ?, memory_estimate_bytes = ? WHERE id = ?")
      .run(Math.round(measuredBytes), estimateBytes === undefined ? null : Math.round(estimateBytes), id);
  }

  /** What the latest measured launch of a profile used: where rig's next estimate for it starts. */
  lastMeasuredMemory(profileHash: string): number | undefined {
    const row = this.db
      .prepare(
        "SELECT memory_bytes FROM launches WHERE profile_hash = ? AND memory_bytes IS NOT NULL ORDER BY id DESC LIMIT 1",
      )
      .get(profileHash) as { memory_bytes: number } | undefined;
    return row?.memory_bytes;
  }

  /** Records finished requests in one transaction (the gateway batches them off the hot path). */
  recordRequests(entries: readonly RequestRecord[]): void {
    this.insertRequest ??= this.db.prepare(
      `INSERT INTO requests (${REQUEST_COLUMNS.join(", ")}) VALUES (${REQUEST_COLUMNS.map((column) => `@${column}`).join(", ")})`,
    );
    const insert = this.insertRequest;
    this.db.transaction(() => {
      for (const entry of entries) {
        const row = requestRow(entry);
        insert.run({ ...row, stream: row.stream ? 1 : 0 });
      }
    })();
  }

  /** The latest requests first, optionally of one server and/or one agent. */
  requests(filter: RequestFilter = {}): RequestRow[] {
    const where: string[] = [];
    const values: Array<string | number> = [];
    if (filter.server !== undefined) {
      where.push("server = ?");
      values.push(filter.server);
    }
    if (filter.agent !== undefined) {
      where.push("agent = ?");
      values.push(filter.agent);
    }
    const rows = this.db
      .prepare(
        `SELECT id, ${REQUEST_COLUMNS.join(", ")} FROM requests ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`,
      )
      .all(...values, filter.limit ?? 200) as Array<Omit<RequestRow, "stream"> & { stream: number }>;
    return rows.map((row) => ({ ...row, stream: row.stream === 1 }));
  }

  recordBench(record: BenchRecord): number {
    const result = this.db
      .prepare(
        `INSERT INTO bench_runs (server, at, runtime, runtime_version, config_hash, profile_hash, model_fingerprint, machine, settings, results)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        record.server,
        new Date().toISOString(),
        record.runtime,
        record.runtimeVersion,
        record.configHash,
        record.profileHash,
        record.modelFingerprint ? JSON.stringify(record.modelFingerprint) : null,
        JSON.stringify(record.machine),
        JSON.stringify(record.settings),
        JSON.stringify(record.results),
      );
    return Number(result.lastInsertRowid);
  }

  /** The latest bench runs first, optionally of one server. */
  benchRuns(server?: string, limit = 20): BenchRow[] {
    const rows = server
      ? this.db
          .prepare("SELECT * FROM bench_runs WHERE server = ? ORDER BY id DESC LIMIT ?")
          .all(server, limit)
      : this.db.prepare("SELECT * FROM bench_runs ORDER BY id DESC LIMIT ?").all(limit);
    return (rows as Array<Record<string, unknown>>).map(decodeBench);
  }

  /** Each server's latest bench run. */
  lastBenchRuns(): BenchRow[] {
    const rows = this.db
      .prepare(
        "SELECT * FROM bench_runs WHERE id IN (SELECT MAX(id) FROM bench_runs GROUP BY server) ORDER BY server",
      )
      .all();
    return (rows as Array<Record<string, unknown>>).map(decodeBench);
  }

  launches(server?: string, limit = 50): LaunchRow[] {
    const rows = server
      ? this.db.prepare("SELECT * FROM launches WHERE server = ? ORDER BY id DESC LIMIT ?").all(server, limit)
      : this.db.prepare("SELECT * FROM launches ORDER BY id DESC LIMIT ?").all(limit);
    return (rows as RawRow[]).map(decode);
  }

  launch(id: number): LaunchRow | undefined {
    const row = this.db.prepare("SELECT * FROM launches WHERE id = ?").get(id) as RawRow | undefined;
    return row ? decode(row) : undefined;
  }

  close(): void {
    this.db.close();
  }
}
