import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { formatDuration } from "../config/duration.ts";
import { findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { redactSecrets } from "../config/secrets.ts";
import type { LaunchRow } from "../ledger/ledger.ts";
import { shellLine, shellQuote } from "../system/shell.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError } from "./common.ts";
import { table } from "./table.ts";

/** The command line that reproduces a launch: working folder, environment and argv. */
export function reproduceLine(row: LaunchRow): string {
  const env = Object.entries(row.env).map(([key, value]) => `${key}=${shellQuote(value)}`);
  return `cd ${shellQuote(row.cwd)} && ${[...env, shellLine(row.argv)].join(" ")}`;
}

function exitText(row: LaunchRow): string {
  if (!row.stopped_at) return row.ready_at ? "running" : "starting";
  const how = row.exit_signal ? row.exit_signal : row.exit_code === null ? "" : `exit ${row.exit_code}`;
  return [row.outcome, how].filter(Boolean).join(", ");
}

export default defineCommand({
  meta: {
    name: "history",
    description: "every launch with its exact argv: rig history [server] | rig history show <id>",
  },
  args: {
    server: { type: "positional", description: "a server name, or `show`", required: false },
    id: { type: "positional", description: "with `show`: the launch id", required: false },
    limit: { type: "string", description: "how many launches", default: "50" },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args }) {
    const config = await loadOrExit(args.home);
    const file = join(config.home.state, "rig.db");
    const { Ledger } = await import("../ledger/ledger.ts");
    const ledger = existsSync(file) ? new Ledger(file, { readonly: true }) : undefined;
    try {
      const named = args.server === "show" ? undefined : args.server;
      // An alias lists its server. A name the ledger knows lists its launches, though rig.yaml no
      // longer names it (a removed server, a `rig bench --vary` variant); any other name is a typo,
      // said as logs and stop say it.
      const serverName = named === undefined ? undefined : (findServer(config, named)?.name ?? named);
      if (named !== undefined && !findServer(config, named) && !ledger?.launches(named, 1).length)
        throw new RigError(
          `no server named \`${named}\`${didYouMean(named, Object.keys(config.servers))} (see \`rig ls\`)`,
        );
      if (args.server === "show") {
        const id = Number(args.id);
        if (!Number.isInteger(id)) throw new RigError("usage: rig history show <id>", 2);
        const recorded = ledger?.launch(id);
        // Rows recorded before the daemon stored references are shown with references too.
        const row = recorded && redactSecrets(config, recorded);
        if (!row) throw new RigError(`no launch #${args.id} (see \`rig history\`)`);
        if (args.json) return printJson({ ...row, command: reproduceLine(row) });
        process.stdout.write(`${reproduceLine(row)}\n`);
        return;
      }
      const rows = redactSecrets(config, ledger?.launches(serverName, Number(args.limit) || 50) ?? []);
      if (args.json) {
        return printJson(
          rows.map((row) => ({
            id: row.id,
            server: row.server,
            argv: row.argv,
            started_at: row.started_at,
            ready_ms: row.ready_ms,
            stopped_at: row.stopped_at,
            exit: exitText(row),
            config_hash: row.config_hash,
            model_fingerprint: row.model_fingerprint,
          })),
        );
      }
      if (rows.length === 0) return void process.stdout.write("no launches recorded yet\n");
      const listing = table(
        ["id", "server", "started", "ready in", "end", "argv"],
        rows.map((row) => [
          row.id,
          pc.bold(row.server),
          row.started_at.replace("T", " ").slice(0, 19),
          row.ready_ms === null ? "" : formatDuration(row.ready_ms),
          exitText(row),
          shellLine(row.argv),
        ]),
      );
      process.stdout.write(
        `${listing}\n${pc.dim("rig history show <id> prints the command line that reproduces a launch")}\n`,
      );
    } finally {
      ledger?.close();
    }
  },
});
