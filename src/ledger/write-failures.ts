/** What the daemon writes as it runs besides answers: ledger rows, log lines, the server pid file. */
export const WRITE_TARGETS = ["ledger", "log", "pidfile"] as const;
export type WriteTarget = (typeof WRITE_TARGETS)[number];

const REPORT_INTERVAL_MS = 60_000;

/** SQLite names its code apart from its message ("database or disk is full"); both say what to fix. */
function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}

/**
 * Writes that failed (disk full, SQLITE_BUSY, SQLITE_FULL, permission). A record that cannot be
 * written is dropped and the stack keeps serving: a full disk must not stop every model a person
 * runs. Each failure is counted for /metrics; each target is reported at most once a minute, with
 * how many failures the report stands for.
 */
export class WriteFailures {
  private readonly totals = new Map<WriteTarget, number>();
  private readonly sinceReport = new Map<WriteTarget, number>();
  private readonly reportedAt = new Map<WriteTarget, number>();
  private report: (message: string) => void = (message) => {
    try {
      process.stderr.write(`${message}\n`);
    } catch {}
  };

  constructor(
    private readonly intervalMs = REPORT_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Where reports go (the daemon's log); until set, stderr. */
  reportTo(report: (message: string) => void): void {
    this.report = report;
  }

  /** Runs `write`; a throw is counted and reported, never passed on. Undefined when it failed. */
  guard<T>(target: WriteTarget, write: () => T): T | undefined {
    try {
      return write();
    } catch (error) {
      this.record(target, error as Error);
      return undefined;
    }
  }

  /** Counts a write that failed elsewhere (a stream's `error` event), and reports it as guard does. */
  record(target: WriteTarget, error: Error): void {
    this.totals.set(target, this.total(target) + 1);
    const unreported = (this.sinceReport.get(target) ?? 0) + 1;
    const last = this.reportedAt.get(target);
    if (last !== undefined && this.now() - last < this.intervalMs) {
      this.sinceReport.set(target, unreported);
      return;
    }
    // Marked before reporting: a report that fails to reach the log is itself a failure of the log.
    this.reportedAt.set(target, this.now());
    this.sinceReport.set(target, 0);
    const times = unreported > 1 ? ` (${unreported} failures since the last report)` : "";
    this.report(
      `${target} write failed${times}: ${describe(error)}; requests are still served, the record is dropped (rig_write_failures_total counts them)`,
    );
  }

  total(target: WriteTarget): number {
    return this.totals.get(target) ?? 0;
  }
}

/** The daemon's counters: every log file and record it writes counts here, whoever opened it. */
export const writeFailures = new WriteFailures();
