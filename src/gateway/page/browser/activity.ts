import uPlot from "uplot";
import { PAGE_ROUTES, type RequestRow, type StackView } from "../protocol.ts";
import { getJson } from "./api.ts";
import { byId, formatNumber, formatTime, h, setOptions } from "./dom.ts";
import { chartColumns, threwCacheAway, tokensPerSecond } from "./stats.ts";

const SHOWN = 200;

function chart(target: HTMLElement, title: string, series: uPlot.Series[]): uPlot {
  const options: uPlot.Options = {
    title,
    width: Math.max(320, target.clientWidth || 600),
    height: 180,
    series: [{}, ...series],
    axes: [{}, { size: 56 }],
    scales: { x: { time: true } },
  };
  return new uPlot(options, [[], ...series.map(() => [])] as uPlot.AlignedData, target);
}

/** Recent requests: a table and two charts, filtered by agent and server, new rows arriving live. */
export class Activity {
  private readonly agent = byId<HTMLSelectElement>("activity-agent");
  private readonly server = byId<HTMLSelectElement>("activity-server");
  private readonly body = byId<HTMLTableElement>("activity-table").tBodies[0]!;
  private rows: RequestRow[] = [];
  private readonly tokens = chart(byId("activity-tokens"), "tokens per request", [
    { label: "prompt", stroke: "#2563eb", points: { show: true } },
    { label: "cached", stroke: "#16a34a", points: { show: true } },
    { label: "completion", stroke: "#c2410c", points: { show: true } },
  ]);
  private readonly speed = chart(byId("activity-speed"), "tokens per second", [
    { label: "tok/s", stroke: "#7c3aed", points: { show: true } },
  ]);

  constructor() {
    for (const select of [this.agent, this.server]) select.addEventListener("change", () => void this.load());
    window.addEventListener("resize", () => {
      for (const plot of [this.tokens, this.speed])
        plot.setSize({ width: Math.max(320, plot.root.parentElement!.clientWidth), height: 180 });
    });
  }

  setStack(stack: StackView): void {
    setOptions(this.agent, [
      { value: "", label: "all agents" },
      ...stack.agents.map((agent) => ({ value: agent.name, label: agent.name })),
    ]);
    setOptions(this.server, [
      { value: "", label: "all servers" },
      ...stack.servers.map((server) => ({ value: server.name, label: server.name })),
    ]);
  }

  /** Reads the latest requests of the chosen agent and server from the ledger. */
  async load(): Promise<void> {
    const query = new URLSearchParams({ limit: String(SHOWN) });
    if (this.agent.value) query.set("agent", this.agent.value);
    if (this.server.value) query.set("server", this.server.value);
    this.rows = await getJson<RequestRow[]>(`${PAGE_ROUTES.requests}?${query}`);
    this.render();
  }

  /** A request that just finished, when it passes the filters. */
  add(row: RequestRow): void {
    if (
      (this.agent.value && row.agent !== this.agent.value) ||
      (this.server.value && row.server !== this.server.value)
    )
      return;
    this.rows = [row, ...this.rows].slice(0, SHOWN);
    this.render();
  }

  private render(): void {
    this.body.replaceChildren(...this.rows.map((row) => this.line(row)));
    const columns = chartColumns(this.rows);
    this.tokens.setData(columns.tokens as uPlot.AlignedData);
    this.speed.setData(columns.speed as uPlot.AlignedData);
  }

  private line(row: RequestRow): HTMLTableRowElement {
    const missed = threwCacheAway(row);
    return h(
      "tr",
      { class: row.status >= 400 ? "failed" : null },
      h("td", {}, formatTime(row.at)),
      h("td", {}, row.agent ?? ""),
      h("td", {}, row.server ?? ""),
      h("td", {}, `${row.route}${row.stream ? " (stream)" : ""}`),
      h("td", { title: row.error ?? "" }, row.status),
      h("td", { class: "number" }, formatNumber(row.prompt_tokens)),
      h(
        "td",
        {
          class: missed ? "number cache-miss" : "number",
          title: missed ? "the runtime's prompt cache served none of this prompt" : null,
        },
        formatNumber(row.cached_tokens),
      ),
      h("td", { class: "number" }, formatNumber(row.completion_tokens)),
      h("td", { class: "number" }, row.ttfb_ms === null ? "" : `${formatNumber(row.ttfb_ms)} ms`),
      h("td", { class: "number" }, formatNumber(tokensPerSecond(row), 1)),
    );
  }
}
