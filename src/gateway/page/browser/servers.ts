import type { ServerStatus, ServersSnapshot, ServerView } from "../protocol.ts";
import { postAction, readJsonLines } from "./api.ts";
import { baseName, byId, formatBytes, formatNumber, formatSeconds, h } from "./dom.ts";

/** What `rig ps --json` adds once memory-aware scheduling measures servers. */
type WithMemory = ServerStatus & { memory_bytes?: number | null; memory_estimate_bytes?: number | null };

type Action = "start" | "stop" | "restart";

const ACTIONS: Record<Action, { label: string; allowed: ReadonlySet<string> }> = {
  start: { label: "Start", allowed: new Set(["stopped", "failed"]) },
  stop: { label: "Stop", allowed: new Set(["starting", "ready"]) },
  restart: { label: "Restart", allowed: new Set(["ready", "failed"]) },
};

interface Row {
  element: HTMLTableRowElement;
  cells: Record<string, HTMLTableCellElement>;
  buttons: Record<Action, HTMLButtonElement>;
}

const COLUMNS = [
  "name",
  "state",
  "runtime",
  "model",
  "port",
  "pid",
  "uptime",
  "ttl",
  "requests",
  "speed",
  "memory",
  "exit",
] as const;

/**
 * The servers table. Rows are made once per server and updated in place every second, so a button
 * keeps the keyboard focus while the numbers beside it change.
 */
export class ServersTable {
  private readonly body = byId<HTMLTableElement>("servers-table").tBodies[0]!;
  private readonly message = byId("servers-message");
  private readonly rows = new Map<string, Row>();
  private snapshot?: ServersSnapshot;
  private views = new Map<string, ServerView>();
  private speeds = new Map<string, number>();

  setStack(servers: ServerView[]): void {
    this.views = new Map(servers.map((server) => [server.name, server]));
    this.render();
  }

  setSnapshot(snapshot: ServersSnapshot): void {
    this.snapshot = snapshot;
    this.render();
  }

  setSpeeds(speeds: Map<string, number>): void {
    this.speeds = speeds;
    this.render();
  }

  /** Redraws the numbers that move with time (uptime, ttl left) without asking the daemon. */
  render(now = Date.now()): void {
    const statuses = this.snapshot?.servers ?? [];
    const elapsed = this.snapshot ? (now - this.snapshot.at) / 1000 : 0;
    for (const name of this.rows.keys())
      if (!statuses.some((status) => status.name === name)) {
        this.rows.get(name)!.element.remove();
        this.rows.delete(name);
      }
    for (const status of statuses) {
      const row = this.rows.get(status.name) ?? this.addRow(status.name);
      this.fill(row, status as WithMemory, elapsed);
    }
  }

  private addRow(name: string): Row {
    const cells = Object.fromEntries(
      COLUMNS.map((column) => [column, h("td", { class: column })]),
    ) as Row["cells"];
    cells.name!.replaceChildren(h("strong", {}, name));
    const buttons = Object.fromEntries(
      (Object.keys(ACTIONS) as Action[]).map((action) => [
        action,
        h(
          "button",
          {
            type: "button",
            "aria-label": `${ACTIONS[action].label} ${name}`,
            onclick: () => void this.act(name, action),
          },
          ACTIONS[action].label,
        ),
      ]),
    ) as Row["buttons"];
    const element = h(
      "tr",
      { "data-server": name },
      ...COLUMNS.map((column) => cells[column]!),
      h("td", { class: "actions" }, buttons.start, buttons.stop, buttons.restart),
    );
    this.body.append(element);
    const row = { element, cells, buttons };
    this.rows.set(name, row);
    return row;
  }

  private fill(row: Row, status: WithMemory, elapsed: number): void {
    const running = status.uptime_s !== null;
    const view = this.views.get(status.name);
    const text: Record<(typeof COLUMNS)[number], string> = {
      name: status.name,
      state: status.stale && status.state === "ready" ? "ready (config changed)" : status.state,
      runtime: status.runtime,
      model: view?.model ? baseName(view.model) : "",
      port: status.port === null ? "" : String(status.port),
      pid: status.pid === null ? "" : String(status.pid),
      uptime: running ? formatSeconds(status.uptime_s! + elapsed) : "",
      ttl: status.ttl_left_s === null ? "" : formatSeconds(status.ttl_left_s - elapsed),
      requests: status.in_flight ? `${status.requests} (${status.in_flight} now)` : String(status.requests),
      speed: formatNumber(this.speeds.get(status.name), 1),
      memory: [
        formatBytes(status.memory_bytes),
        status.memory_estimate_bytes ? `est. ${formatBytes(status.memory_estimate_bytes)}` : "",
      ]
        .filter(Boolean)
        .join(" / "),
      exit: status.last_exit
        ? `${status.last_exit.signal ?? `exit ${status.last_exit.code}`}${status.last_exit.hint ? `: ${status.last_exit.hint}` : ""}`
        : "",
    };
    for (const column of COLUMNS) {
      if (column === "name") continue;
      const cell = row.cells[column]!;
      if (cell.textContent !== text[column]) cell.textContent = text[column];
    }
    row.cells.model!.title = view?.model ?? "";
    row.cells.state!.dataset.state = status.state;
    row.cells.state!.title = status.error ?? "";
    for (const action of Object.keys(ACTIONS) as Action[])
      row.buttons[action].disabled = !ACTIONS[action].allowed.has(status.state);
  }

  private async act(name: string, action: Action): Promise<void> {
    const path = `/rig/v1/servers/${encodeURIComponent(name)}/${action}`;
    this.message.textContent = `${action === "stop" ? "stopping" : `${action}ing`} ${name}…`;
    try {
      const response = await postAction(path);
      if (action === "stop") {
        this.message.textContent = `${name} stopped`;
        return;
      }
      let outcome = "";
      await readJsonLines(response, (value) => {
        const event = value as { event: string; line?: string | null; error?: string; elapsed_ms?: number };
        if (event.event === "progress")
          this.message.textContent = `starting ${name} (${formatSeconds((event.elapsed_ms ?? 0) / 1000)})${event.line ? `: ${event.line}` : ""}`;
        else
          outcome = event.event === "ready" ? `${name} is ready` : `${name} failed to start: ${event.error}`;
      });
      this.message.textContent = outcome || `${name}: the daemon closed the start early`;
    } catch (error) {
      this.message.textContent = `${action} ${name}: ${(error as Error).message}`;
    }
  }
}
