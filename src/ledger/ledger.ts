import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS } from "./migrations.ts";
import {
  type BenchRecord,
  type BenchRow,
  decode,
  decodeBench,
  type LaunchRecord,
  type LaunchRow,
  type RawRow,
  REQUEST_COLUMNS,
  type RequestFilter,
  type RequestRecord,
  type RequestRow,
  redactEnv,
  requestRow,
  TALLY_COLUMNS,
  tallyColumns,
} from "./rows.ts";
import { type StatsKey, type StatsRow, statsRow, statsSql } from "./stats.ts";

export { MIGRATIONS } from "./migrations.ts";
export type {
  BenchRecord,
  BenchRow,
  LaunchRecord,
  LaunchRow,
  RequestFilter,
  RequestRecord,
  RequestRow,
  ToolTally,
  Usage,
} from "./rows.ts";
export { redactEnv, requestRow } from "./rows.ts";
export { STATS_GROUPINGS, type StatsKey, type StatsRow } from "./stats.ts";

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
    const columns = [...REQUEST_COLUMNS, ...TALLY_COLUMNS];
    this.insertRequest ??= this.db.prepare(
      `INSERT INTO requests (${columns.join(", ")}) VALUES (${columns.map((column) => `@${column}`).join(", ")})`,
    );
    const insert = this.insertRequest;
    this.db.transaction(() => {
      for (const entry of entries) {
        const row = requestRow(entry);
        insert.run({ ...row, stream: row.stream ? 1 : 0, ...tallyColumns(entry.tools) });
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

  /** The requests summed per group (`rig stats`), from `since` (an ISO time) on. */
  stats(by: readonly StatsKey[], since?: string): StatsRow[] {
    const { sql, values } = statsSql(by, since);
    return (this.db.prepare(sql).all(...values) as Array<Record<string, unknown>>).map(statsRow);
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
