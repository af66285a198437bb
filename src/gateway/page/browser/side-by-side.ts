import { PAGE_ROUTES, type StatsRow } from "../protocol.ts";
import { getJson } from "./api.ts";
import { byId, h } from "./dom.ts";
import { sideBySideCells } from "./stats.ts";

const DAY_MS = 24 * 3600 * 1000;
/** The table is read again at most this often while requests arrive. */
const REFRESH_MS = 2000;

/** Agents side by side over the last day, from the ledger; read again (throttled) as requests finish. */
export class SideBySide {
  private readonly body = byId<HTMLTableElement>("side-by-side-table").tBodies[0]!;
  private timer: number | undefined;

  async load(): Promise<void> {
    const since = new Date(Date.now() - DAY_MS).toISOString();
    const rows = await getJson<StatsRow[]>(`${PAGE_ROUTES.stats}?since=${encodeURIComponent(since)}`);
    this.body.replaceChildren(
      ...rows.map((row) =>
        h(
          "tr",
          { class: row.upstream_errors ? "failed" : null },
          ...sideBySideCells(row).map((cell, column) =>
            h("td", { class: column >= 2 ? "number" : null }, cell),
          ),
        ),
      ),
    );
  }

  /** A request finished: its counts reach the table with the next read. */
  requestFinished(): void {
    this.timer ??= window.setTimeout(() => {
      this.timer = undefined;
      void this.load();
    }, REFRESH_MS);
  }
}
