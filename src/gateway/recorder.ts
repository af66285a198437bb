import type { Config } from "../config/loader.ts";
import { redactSecrets } from "../config/secrets.ts";
import {
  type Ledger,
  type RequestFilter,
  type RequestRecord,
  type RequestRow,
  requestRow,
  type StatsKey,
  type StatsRow,
} from "../ledger/ledger.ts";
import { WRITE_TARGETS, type WriteFailures, writeFailures } from "../ledger/write-failures.ts";
import type { LaunchEvents } from "../supervisor/launcher.ts";

interface ServerMetrics {
  requests: Map<string, number>;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  ttftSeconds: number;
  ttftCount: number;
  durationSeconds: number;
  durationCount: number;
}

/** What one agent did on one server (`rig stats` live): the tool counters of /metrics. */
interface AgentServerCounters {
  requests: number;
  toolsOffered: number;
  made: number;
  repaired: number;
  extracted: number;
  unoffered: number;
  cut: number;
  upstreamErrors: number;
}

/** The tool call kinds of `rig_tool_calls_total`, each the name of the counter it reads. */
const TOOL_CALL_KINDS = ["made", "repaired", "extracted", "unoffered"] as const satisfies ReadonlyArray<
  keyof AgentServerCounters
>;

/** The id of a launch the ledger could not record: no row has it, so its later updates change nothing. */
const UNRECORDED = 0;

/**
 * The supervisor's launch events, into the ledger: with secrets shown as their references (argv,
 * env, the log tail), and a failed write counted, never thrown into a server's start or exit.
 */
export function ledgerLaunchEvents(
  ledger: Ledger,
  config: () => Config,
  failures: WriteFailures = writeFailures,
): LaunchEvents {
  return {
    started: (launch) => {
      // A closed ledger is a daemon that has stopped: a launch that raced with the stop must fail
      // (and its process be killed), not outlive the daemon's servers.
      if (!ledger.open) throw new Error("the gateway has stopped; no server starts now");
      return (
        failures.guard("ledger", () => ledger.launchStarted(redactSecrets(config(), launch))) ?? UNRECORDED
      );
    },
    ready: (id, readyMs) => failures.guard("ledger", () => ledger.launchReady(id, readyMs)),
    ended: (id, end) => failures.guard("ledger", () => ledger.launchEnded(id, redactSecrets(config(), end))),
    memory: (id, measured, estimate) =>
      failures.guard("ledger", () => ledger.launchMemory(id, measured, estimate)),
    lastMemory: (profileHash) => {
      try {
        return ledger.lastMeasuredMemory(profileHash);
      } catch {
        return undefined;
      }
    },
  };
}

/** Everything said about one finished request: the gateway log line, the ledger row, the metrics. */
export class Recorder {
  private readonly metrics = new Map<string, ServerMetrics>();
  /** Keyed by agent (empty for requests by model name), a NUL, and server. */
  private readonly agentCounters = new Map<string, AgentServerCounters>();
  private pending: RequestRecord[] = [];
  private pendingLines: string[] = [];
  private flushTimer?: NodeJS.Timeout;
  private readonly listeners = new Set<(row: RequestRow) => void>();

  /**
   * `writeLog` takes whole lines; log lines and ledger rows are written in batches, off the request
   * path. A batch that cannot be written is dropped and counted in `failures`, never thrown from the timer.
   */
  constructor(
    private readonly writeLog: (lines: string) => void,
    private readonly ledger?: Ledger,
    private readonly failures: WriteFailures = writeFailures,
  ) {}

  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const lines = this.pendingLines;
    const rows = this.pending;
    this.pending = [];
    this.pendingLines = [];
    if (lines.length) this.failures.guard("log", () => this.writeLog(lines.join("")));
    const { ledger } = this;
    if (rows.length && ledger) this.failures.guard("ledger", () => ledger.recordRequests(rows));
  }

  /** Calls `listener` with every request as it finishes (the page's live activity); returns the unsubscribe. */
  onRequest(listener: (row: RequestRow) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The latest requests from the ledger, the ones still waiting for their batch included. */
  recent(filter: RequestFilter = {}): RequestRow[] {
    this.flush();
    return this.ledger?.requests(filter) ?? [];
  }

  /** The ledger's requests summed per group from `since` (an ISO time) on, the latest batch included. */
  stats(by: readonly StatsKey[], since?: string): StatsRow[] {
    this.flush();
    return this.ledger?.stats(by, since) ?? [];
  }

  private logLine(text: string): void {
    this.pendingLines.push(`${new Date().toISOString()} ${text}\n`);
  }

  record(entry: RequestRecord): void {
    const tokens = entry.usage ? ` in=${entry.usage.prompt} out=${entry.usage.completion}` : "";
    const cached = entry.usage?.cached === undefined ? "" : ` cached=${entry.usage.cached}`;
    const rate =
      entry.stream && entry.usage?.completion && entry.ttfbMs !== undefined && entry.durationMs > entry.ttfbMs
        ? ` tok/s=${((entry.usage.completion * 1000) / (entry.durationMs - entry.ttfbMs)).toFixed(1)}`
        : "";
    this.logLine(
      `${entry.method} ${entry.path} server=${entry.server ?? "-"}${entry.agent ? ` agent=${entry.agent}` : ""} status=${entry.status}${entry.stream ? " stream" : ""}` +
        `${entry.ttfbMs === undefined ? "" : ` ttfb=${entry.ttfbMs.toFixed(1)}ms`} dur=${entry.durationMs.toFixed(1)}ms${tokens}${rate}${cached}` +
        `${entry.error ? ` error=${JSON.stringify(entry.error)}` : ""}`,
    );
    this.pending.push(entry);
    this.flushTimer ??= setTimeout(() => this.flush(), 100).unref();
    if (this.listeners.size) {
      const row = requestRow(entry);
      for (const listener of this.listeners) listener(row);
    }
    if (!entry.server) return;
    let metrics = this.metrics.get(entry.server);
    if (!metrics) {
      metrics = {
        requests: new Map(),
        promptTokens: 0,
        cachedTokens: 0,
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
    metrics.cachedTokens += entry.usage?.cached ?? 0;
    metrics.completionTokens += entry.usage?.completion ?? 0;
    if (entry.ttfbMs !== undefined && entry.status < 400) {
      metrics.ttftSeconds += entry.ttfbMs / 1000;
      metrics.ttftCount++;
    }
    metrics.durationSeconds += entry.durationMs / 1000;
    metrics.durationCount++;
    this.countTools(entry.agent ?? "", entry.server, entry);
  }

  private countTools(agent: string, server: string, entry: RequestRecord): void {
    const key = `${agent}\u0000${server}`;
    let counters = this.agentCounters.get(key);
    if (!counters) {
      counters = {
        requests: 0,
        toolsOffered: 0,
        made: 0,
        repaired: 0,
        extracted: 0,
        unoffered: 0,
        cut: 0,
        upstreamErrors: 0,
      };
      this.agentCounters.set(key, counters);
    }
    counters.requests++;
    const tools = entry.tools;
    if (!tools) return;
    counters.toolsOffered += tools.offered;
    counters.made += tools.made ?? 0;
    counters.repaired += tools.repaired;
    counters.extracted += tools.extracted;
    counters.unoffered += tools.unoffered ?? 0;
    if (tools.cut) counters.cut++;
    if (tools.upstreamError) counters.upstreamErrors++;
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
    metric(
      "rig_prompt_tokens_cached_total",
      "counter",
      "Prompt tokens the runtime's cache served instead of processing them again (part of the prompt tokens).",
    );
    for (const [server, m] of this.metrics)
      lines.push(`rig_prompt_tokens_cached_total{server="${label(server)}"} ${m.cachedTokens}`);
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
    const agentServer = (key: string) => {
      const [agent, server] = key.split("\u0000");
      return `agent="${label(agent!)}",server="${label(server!)}"`;
    };
    const perAgent = (name: string, help: string, value: (counters: AgentServerCounters) => number) => {
      metric(name, "counter", help);
      for (const [key, counters] of this.agentCounters)
        lines.push(`${name}{${agentServer(key)}} ${value(counters)}`);
    };
    perAgent(
      "rig_agent_requests_total",
      "Requests routed to a server, by agent (empty for requests by model name).",
      (c) => c.requests,
    );
    perAgent(
      "rig_tools_offered_total",
      "Tools the requests offered, by agent and server.",
      (c) => c.toolsOffered,
    );
    metric(
      "rig_tool_calls_total",
      "counter",
      "Tool calls in the answers by kind: made; repaired (arguments that did not parse until rig fixed them), extracted (written as text, turned into calls by rig), unoffered (naming a tool the request did not offer) are among the made. Streams relayed natively are not counted.",
    );
    for (const [key, counters] of this.agentCounters)
      for (const kind of TOOL_CALL_KINDS)
        lines.push(`rig_tool_calls_total{${agentServer(key)},kind="${kind}"} ${counters[kind]}`);
    perAgent("rig_answers_cut_total", "Answers cut by the token limit.", (c) => c.cut);
    perAgent(
      "rig_upstream_errors_total",
      "Exchanges the runtime failed: unreachable, an error status or event, or cut off mid-answer.",
      (c) => c.upstreamErrors,
    );
    metric(
      "rig_write_failures_total",
      "counter",
      "Ledger rows, log lines and pid file writes that failed (disk full, database busy, permission) and were dropped.",
    );
    for (const target of WRITE_TARGETS)
      lines.push(`rig_write_failures_total{target="${target}"} ${this.failures.total(target)}`);
    metric("rig_server_ready", "gauge", "1 when the server is ready to answer.");
    for (const server of serverStates)
      lines.push(`rig_server_ready{server="${label(server.name)}"} ${server.state === "ready" ? 1 : 0}`);
    return `${lines.join("\n")}\n`;
  }
}
