import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { parseDuration } from "../config/duration.ts";
import { STATS_GROUPINGS, type StatsKey, type StatsRow, statsColumns } from "../ledger/stats.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError, UsageError } from "./common.ts";
import { table } from "./table.ts";

/** The ISO time `--since` names (a duration back from now), or undefined for every request. */
export function sinceTime(since: string | undefined, now = Date.now()): string | undefined {
  if (!since) return undefined;
  let ms: number;
  try {
    ms = parseDuration(since);
  } catch {
    throw new UsageError(`--since takes a duration back from now, e.g. 1h, 1d or 30m; got "${since}"`);
  }
  return new Date(now - ms).toISOString();
}

/** The table a person reads: one line per group, the counts `--json` gives in full, the hints below. */
export function statsTable(rows: readonly StatsRow[], keys: readonly StatsKey[]): string {
  const columns = statsColumns(keys);
  const lines = rows.map((row) =>
    columns.map((column, index) => (index < keys.length ? pc.bold(column.cell(row)) : column.cell(row))),
  );
  const unseen = rows.some((row) => row.tool_calls_unseen > 0);
  const notes = [
    "repaired, extracted and unoffered are among the calls",
    ...columns
      .filter((column) => column.hint !== undefined && (column.title !== "calls" || unseen))
      .map((column) => `${column.title}: ${column.hint}`),
  ];
  return `${table(
    columns.map((column) => column.title),
    lines,
  )}\n${notes.map((note) => pc.dim(note)).join("\n")}\n`;
}

export default defineCommand({
  meta: {
    name: "stats",
    description:
      "agents side by side, from the gateway's ledger: requests, tool calls made, repaired, extracted from text or naming an unoffered tool, answers cut by the token limit, upstream errors, prompt-cache reuse",
  },
  args: {
    by: { type: "string", description: "group by agent, server, or agent,server", default: "agent,server" },
    since: {
      type: "string",
      description: "only requests from this long ago on (e.g. 1h, 1d)",
      valueHint: "DURATION",
    },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args }) {
    const keys = STATS_GROUPINGS[args.by.replace(/\s+/g, "")];
    if (!keys)
      throw new UsageError(`--by takes ${Object.keys(STATS_GROUPINGS).join(", ")}; got "${args.by}"`);
    const since = sinceTime(args.since);
    const config = await loadOrExit(args.home);
    const file = join(config.home.state, "rig.db");
    const { Ledger } = await import("../ledger/ledger.ts");
    const ledger = existsSync(file) ? new Ledger(file, { readonly: true }) : undefined;
    let rows: StatsRow[];
    try {
      rows = ledger?.stats(keys, since) ?? [];
    } catch (error) {
      if (!/no such column/.test((error as Error).message)) throw error;
      throw new RigError(
        "the ledger was written by an older rig: restart the gateway (`rig gateway stop`, then `rig gateway start`) to upgrade it",
      );
    } finally {
      ledger?.close();
    }
    if (args.json) return printJson(rows);
    if (rows.length === 0)
      return void process.stdout.write(
        `no requests recorded${args.since ? ` in the last ${args.since}` : ""} yet\n`,
      );
    process.stdout.write(statsTable(rows, keys));
  },
});
