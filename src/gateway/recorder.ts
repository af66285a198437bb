import type { Ledger, RequestRecord } from "../ledger/ledger.ts";

interface ServerMetrics {
  requests: Map<string, number>;
  promptTokens: number;
  completionTokens: number;
  ttftSeconds: number;
  ttftCount: number;
  durationSeconds: number;
  durationCount: number;
}

/** Everything said about one finished request: the gateway log line, the ledger row, the metrics. */
export class Recorder {
  private readonly metrics = new Map<string, ServerMetrics>();
  private pending: RequestRecord[] = [];
  private pendingLines: string[] = [];
  private flushTimer?: NodeJS.Timeout;

  /** `writeLog` takes whole lines; log lines and ledger rows are written in batches, off the request path. */
  constructor(
    private readonly writeLog: (lines: string) => void,
    private readonly ledger?: Ledger,
  ) {}

  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pendingLines.length) this.writeLog(this.pendingLines.join(""));
    if (this.pending.length) this.ledger?.recordRequests(this.pending);
    this.pending = [];
    this.pendingLines = [];
  }

  private logLine(text: string): void {
    this.pendingLines.push(`${new Date().toISOString()} ${text}\n`);
  }

  record(entry: RequestRecord): void {
    const tokens = entry.usage ? ` in=${entry.usage.prompt} out=${entry.usage.completion}` : "";
    const rate =
      entry.stream && entry.usage?.completion && entry.ttfbMs !== undefined && entry.durationMs > entry.ttfbMs
        ? ` tok/s=${((entry.usage.completion * 1000) / (entry.durationMs - entry.ttfbMs)).toFixed(1)}`
        : "";
    this.logLine(
      `${entry.method} ${entry.path} server=${entry.server ?? "-"}${entry.agent ? ` agent=${entry.agent}` : ""} status=${entry.status}${entry.stream ? " stream" : ""}` +
        `${entry.ttfbMs === undefined ? "" : ` ttfb=${entry.ttfbMs.toFixed(1)}ms`} dur=${entry.durationMs.toFixed(1)}ms${tokens}${rate}` +
        `${entry.error ? ` error=${JSON.stringify(entry.error)}` : ""}`,
    );
    this.pending.push(entry);
    this.flushTimer ??= setTimeout(() => this.flush(), 100).unref();
    if (!entry.server) return;
    let metrics = this.metrics.get(entry.server);
    if (!metrics) {
      metrics = {
        requests: new Map(),
        promptTokens: 0,
        completionTokens: 0,
        ttftSeconds: 0,
        ttftCount: 0,
        durationSeconds: 0,
        durationCount: 0,
      };
      this.metrics.set(entry.server, metrics);
    }
    const key = `${entry.route}\u0000${entry.status}`;
    metrics.requests.set(key, (metrics.requests.get(key) ?? 0) + 1);
    metrics.promptTokens += entry.usage?.prompt ?? 0;
    metrics.completionTokens += entry.usage?.completion ?? 0;
    if (entry.ttfbMs !== undefined && entry.status < 400) {
      metrics.ttftSeconds += entry.ttfbMs / 1000;
      metrics.ttftCount++;
    }
    metrics.durationSeconds += entry.durationMs / 1000;
    metrics.durationCount++;
  }

  /** Prometheus text exposition. */
  prometheus(serverStates: Array<{ name: string; state: string }>): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const label = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
    metric("rig_requests_total", "counter", "Requests routed to a server, by route and status.");
    for (const [server, m] of this.metrics) {
      for (const [key, count] of m.requests) {
        const [route, status] = key.split("\u0000");
        lines.push(
          `rig_requests_total{server="${label(server)}",route="${label(route!)}",status="${status}"} ${count}`,
        );
      }
    }
    metric("rig_tokens_total", "counter", "Tokens reported by the upstream, by kind.");
    for (const [server, m] of this.metrics) {
      lines.push(`rig_tokens_total{server="${label(server)}",kind="prompt"} ${m.promptTokens}`);
      lines.push(`rig_tokens_total{server="${label(server)}",kind="completion"} ${m.completionTokens}`);
    }
    metric("rig_time_to_first_byte_seconds", "summary", "Time from request to the first upstream byte.");
    for (const [server, m] of this.metrics) {
      lines.push(`rig_time_to_first_byte_seconds_sum{server="${label(server)}"} ${m.ttftSeconds.toFixed(6)}`);
      lines.push(`rig_time_to_first_byte_seconds_count{server="${label(server)}"} ${m.ttftCount}`);
    }
    metric("rig_request_duration_seconds", "summary", "Whole request duration.");
    for (const [server, m] of this.metrics) {
      lines.push(
        `rig_request_duration_seconds_sum{server="${label(server)}"} ${m.durationSeconds.toFixed(6)}`,
      );
      lines.push(`rig_request_duration_seconds_count{server="${label(server)}"} ${m.durationCount}`);
    }
    metric("rig_server_ready", "gauge", "1 when the server is ready to answer.");
    for (const server of serverStates)
      lines.push(`rig_server_ready{server="${label(server.name)}"} ${server.state === "ready" ? 1 : 0}`);
    return `${lines.join("\n")}\n`;
  }
}
