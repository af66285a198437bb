import { defineCommand } from "citty";
import { formatSize } from "../config/duration.ts";
import { type Config, findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { type Budget, type Bytes, budgetOf, POOL_NAMES, POOLS } from "../memory/budget.ts";
import { estimateServer, spreadOver } from "../memory/estimate.ts";
import { type FitReport, fitReport } from "../memory/fit.ts";
import { readMachine } from "../memory/machine.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError, UsageError } from "./common.ts";
import { daemonStatus } from "./daemon-client.ts";

const HOLDING = new Set(["starting", "ready", "stopping"]);

/** What the servers the daemon runs hold, besides `except`: measured where they have been, else counted. */
async function heldByOthers(config: Config, budget: Budget, except: string): Promise<Bytes> {
  const status = await daemonStatus(config).catch(() => undefined);
  const held: Bytes = {};
  for (const running of status?.servers ?? []) {
    const server = config.servers[running.name];
    const bytes = running.memory_bytes ?? running.memory_estimate_bytes;
    if (!server || running.name === except || !HOLDING.has(running.state) || !bytes) continue;
    const pools = spreadOver(bytes, estimateServer(config, server, budget), budget);
    for (const pool of POOLS) if (pools[pool]) held[pool] = (held[pool] ?? 0) + pools[pool]!;
  }
  return held;
}

/** "RAM", or "3.2 GB GPU memory + 410 MB RAM" when it spans two. */
export function inPools(bytes: Bytes): string {
  const used = POOLS.filter((pool) => (bytes[pool] ?? 0) > 0);
  if (used.length <= 1) return used.map((pool) => POOL_NAMES[pool]).join("") || "no memory";
  return used.map((pool) => `${formatSize(bytes[pool]!)} ${POOL_NAMES[pool]}`).join(" + ");
}

/**
 * The largest context: the search stops at the trained context, so a budget that holds more (a "fits"
 * at 10M tokens) must not read as a limit of 65536.
 */
function maxContextText({ max_context: max, trained_context: trained }: FitReport): string {
  if (max === trained)
    return `${max} tokens, the model's trained context (it fits the budget; rig counts no further)`;
  return `${max} tokens fit the budget${trained ? pc.dim(` (the model is trained for ${trained})`) : ""}`;
}

/** The report as lines: `rig fit`, and the memory part of `rig explain`. */
export function fitLines(report: FitReport): string[] {
  const lines: string[] = [];
  if (report.estimate) {
    const { weights, kv, compute } = report.estimate;
    const context = report.context === null ? "" : pc.dim(`  (${report.context} tokens)`);
    lines.push(
      `weights   ${formatSize(weights)}`,
      `kv        ${formatSize(kv)}${context}`,
      `compute   ${formatSize(compute)}`,
    );
  }
  if (report.total !== null)
    lines.push(
      `total     ${formatSize(report.total)} in ${inPools(report.where)} ${pc.dim(`(${report.source})`)}`,
    );
  for (const pool of POOLS) {
    const budget = report.budget[pool];
    if (!budget) continue;
    lines.push(
      `budget    ${POOL_NAMES[pool]} ${formatSize(budget.limit)} ${pc.dim(`(${budget.from})`)}, ${formatSize(report.free[pool] ?? 0)} free now`,
    );
  }
  if (report.fits !== null) {
    const now = report.fits_now ? "" : pc.yellow(" (idle servers would be stopped to make room)");
    lines.push(`fits      ${report.fits ? pc.green("yes") + now : pc.red("no")}`);
  }
  if (report.max_context !== null) lines.push(`max ctx   ${maxContextText(report)}`);
  for (const warning of report.warnings) lines.push(pc.yellow(`warning   ${warning}`));
  for (const note of report.notes) lines.push(pc.dim(`note      ${note}`));
  return lines;
}

export default defineCommand({
  meta: {
    name: "fit",
    description: "memory a server takes (weights, KV cache, compute), where it goes, and whether it fits",
  },
  args: {
    server: { type: "positional", description: "server name or alias", required: true },
    context: { type: "string", description: "estimate for this many tokens of context", valueHint: "N" },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args }) {
    const config = await loadOrExit(args.home);
    const server = findServer(config, args.server);
    if (!server)
      throw new RigError(
        `no server named \`${args.server}\`${didYouMean(args.server, Object.keys(config.servers))} (see \`rig ls\`)`,
      );
    const context = args.context === undefined ? undefined : Number(args.context);
    if (context !== undefined && !(Number.isInteger(context) && context > 0))
      throw new UsageError(`--context takes a number of tokens, e.g. --context 32768 (got ${args.context})`);
    const budget = budgetOf(config.memory, await readMachine());
    const report = fitReport(config, server, budget, await heldByOthers(config, budget, server.name), {
      context,
    });
    if (report.fits === false) process.exitCode = 1;
    if (args.json) return printJson(report);
    process.stdout.write(
      `${[`${pc.bold(server.name)} ${pc.dim(`(${server.runtime})`)}`, ...fitLines(report)].join("\n")}\n`,
    );
  },
});
