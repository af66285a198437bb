import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { defineCommand } from "citty";
import { streamChat } from "../bench/client.ts";
import { benchRecords, readBenchRuns, sideBySideJson, storedRun } from "../bench/history.ts";
import { machineFacts } from "../bench/machine.ts";
import { type BenchPrompt, BUILT_IN, BUILT_IN_PROMPTS, parsePromptFile } from "../bench/prompts.ts";
import {
  type BenchResults,
  type BenchSettings,
  cellName,
  commandOf,
  headlines,
  ms,
  perSecond,
  readyText,
  subjectLabel,
  toolCallText,
} from "../bench/report.ts";
import { type BenchDriver, runBench } from "../bench/run.ts";
import { cellsOf, rawOption, SettingsError, settingsOf, subjectsOf } from "../bench/settings.ts";
import { summarize } from "../bench/summary.ts";
import { parseVary, type VariantSpec } from "../bench/variants.ts";
import { runtimeVersion } from "../bench/version.ts";
import { formatTokenCount } from "../config/duration.ts";
import type { Config, Server } from "../config/loader.ts";
import { findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { gatewayUrl } from "../config/urls.ts";
import type { BenchRecord } from "../ledger/ledger.ts";
import { launchPlan } from "../runtimes/plan.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError, refreshDocs, UsageError } from "./common.ts";
import { call, ensureDaemon, startServer } from "./daemon-client.ts";
import { progress } from "./progress.ts";
import { table } from "./table.ts";

const CHAT_PATH = "/v1/chat/completions";

/**
 * Subjects brought to ready through the daemon (as any use starts them, swapping out what does not fit
 * beside them), then reached both ways. Each runtime's version is read the first time it runs.
 */
function daemonDriver(
  config: Config,
  profiles: ReadonlyMap<string, Server>,
  bar: ReturnType<typeof progress>,
): BenchDriver & { versions: Map<string, Promise<string | null>> } {
  const gateway = gatewayUrl(config);
  const versions = new Map<string, Promise<string | null>>();
  const headers: Record<string, string> = config.gateway.apiKey
    ? { authorization: `Bearer ${config.gateway.apiKey}` }
    : {};
  return {
    versions,
    async ready(subject) {
      const final = await startServer(config, subject.name, (event) => {
        if (event.event === "progress")
          bar.update(`starting ${subject.name}: ${event.line ?? "loading…"}`, "starting");
      }).catch((error: Error) => {
        if (error instanceof RigError) throw error;
        throw new RigError(
          `the gateway dropped the start of ${subject.name} (${error.message}); see \`rig logs gateway\``,
        );
      });
      if (final.event !== "ready") {
        const tail = final.tail?.length
          ? `\nlast log lines:\n${final.tail.map((line) => `  ${line}`).join("\n")}`
          : "";
        throw new RigError(`${subject.name} did not start: ${final.error}${tail}`);
      }
      const plan = launchPlan(config, profiles.get(subject.name)!, final.server?.port ?? undefined);
      if (!versions.has(subject.name))
        versions.set(
          subject.name,
          runtimeVersion(plan.baseUrl, { executable: plan.process?.argv[0], headers: plan.upstreamHeaders }),
        );
      return {
        gateway: { url: gateway + CHAT_PATH, model: subject.name, headers },
        // Directly as the gateway reaches it: with the runtime's key, when it takes one.
        direct: { url: plan.baseUrl + CHAT_PATH, model: plan.upstreamModel, headers: plan.upstreamHeaders },
      };
    },
    ask: streamChat,
    progress(done, total, doing) {
      const width = 20;
      const filled = Math.round((done / Math.max(total, 1)) * width);
      bar.update(
        `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${doing}`,
        "measuring",
      );
    },
  };
}

async function setVariants(config: Config, server: string, specs: VariantSpec[]): Promise<void> {
  const reply = await call(config, "POST", "/rig/v1/bench/variants", 60_000, { server, variants: specs });
  if (reply.status !== 200)
    throw new RigError(
      `the gateway did not take the variants (${reply.status}): ${reply.body.slice(0, 500)}`,
    );
}

/** Hands the run to the daemon, which owns the ledger; its id, or null when it was not stored. */
async function recordRun(config: Config, record: BenchRecord): Promise<number | null> {
  const reply = await call(config, "POST", "/rig/v1/bench/runs", 10_000, record).catch(() => undefined);
  if (reply?.status !== 200) return null;
  return (JSON.parse(reply.body) as { id: number | null }).id;
}

function printRun(servers: readonly Server[], settings: BenchSettings, results: BenchResults): void {
  const [first] = servers;
  const sideBySide = servers.length > 1;
  const several = settings.subjects.length > 1;
  const out: string[] = [
    pc.bold(
      sideBySide
        ? `${servers.map((server) => server.name).join(", ")} side by side: ${settings.rounds} rounds, ${settings.max_tokens} tokens per answer, servers interleaved in a rotating order, measured directly`
        : `${first!.name} (${first!.runtime}): ${settings.rounds} rounds, ${settings.max_tokens} tokens per answer, paths and subjects interleaved`,
    ),
  ];
  if (sideBySide)
    out.push(
      ...servers.map(
        (server) =>
          `  ${server.name}  ${server.runtime} ${basename(server.modelPath ?? "")}  ${readyText(results.rounds, server.name)}`,
      ),
    );
  else if (several)
    out.push(
      ...settings.subjects.map(
        (subject) => `  ${subject.name}  ${subjectLabel(settings.subjects, subject.name)}`,
      ),
    );
  const calls = results.results.some((result) => result.tool_calls);
  out.push(
    "",
    table(
      [
        ...(several ? [sideBySide ? "server" : "variant"] : []),
        settings.prompts ? "prompt" : "context",
        "path",
        "first token",
        "prompt tok/s",
        "gen tok/s",
        "throughput",
        ...(calls ? ["tool call ok"] : []),
      ],
      results.results.map((result) => [
        ...(several ? [result.subject] : []),
        cellName(result),
        result.path,
        ms(result.ttft_ms),
        perSecond(result.prompt_tps),
        perSecond(result.gen_tps),
        perSecond(result.throughput_tps),
        ...(calls ? [toolCallText(result)] : []),
      ]),
    ),
    "",
  );
  if (several)
    out.push(
      pc.bold(
        `against the first ${sideBySide ? "server" : "variant"}, measured directly (median of per-round ratios, range over the rounds):`,
      ),
    );
  out.push(
    ...headlines({ at: "", profile_hash: "", settings, results }).map(
      (line) => `  ${line.replaceAll("`", "")}`,
    ),
  );
  for (const miss of results.prompt.off_target)
    out.push(
      pc.yellow(
        `  note: ${miss.subject} at ${formatTokenCount(miss.context)} reported ${miss.reported} prompt tokens for a target of ${miss.target}`,
      ),
    );
  const errors = results.results.flatMap((result) =>
    result.errors.map((error) => `${result.subject} ${result.path} ${cellName(result)}: ${error}`),
  );
  for (const error of new Set(errors)) out.push(pc.red(`  failed: ${error}`));
  process.stdout.write(`${out.join("\n")}\n`);
}

function printHistory(config: Config, server: string, json: boolean): void {
  const rows = readBenchRuns(config.home.state, (ledger) => ledger.benchRuns(server));
  if (json) {
    printJson(rows);
    return;
  }
  if (!rows.length) {
    process.stdout.write(`no bench runs of ${server} yet: rig bench ${server}\n`);
    return;
  }
  for (const row of rows) {
    const run = storedRun(row);
    const machine = row.machine as { cpu?: string; cores?: number; gpus?: string[] };
    process.stdout.write(
      `${pc.bold(`#${row.id}`)} ${row.at.replace("T", " ").slice(0, 19)}  ${commandOf(server, run.settings)}\n` +
        pc.dim(
          `  ${row.runtime} ${row.runtime_version ?? "version unknown"}; ${machine.cpu ?? "?"} ×${machine.cores ?? "?"}${machine.gpus?.length ? `, ${machine.gpus.join(", ")}` : ""}; config ${row.config_hash}\n`,
        ) +
        headlines(run)
          .map((line) => `  ${line.replaceAll("`", "")}\n`)
          .join(""),
    );
  }
}

/** The servers named on the command line, each once, by the names rig.yaml gives them. */
function serversNamed(config: Config, names: readonly string[]): Server[] {
  const servers: Server[] = [];
  for (const name of names) {
    const server = findServer(config, name);
    if (!server)
      throw new RigError(
        `no server named \`${name}\`${didYouMean(name, Object.keys(config.servers))} (see \`rig ls\`)`,
      );
    if (servers.includes(server))
      throw new UsageError(`${name} is ${server.name}, named twice; name each server once`);
    servers.push(server);
  }
  return servers;
}

/** The prompt set: `--prompts FILE`, the built-in set when servers are compared, none otherwise. */
function promptSet(file: string | undefined, sideBySide: boolean): BenchPrompt[] | undefined {
  if (file === undefined) return sideBySide ? [...BUILT_IN_PROMPTS] : undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(
      `--prompts: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  const parsed = parsePromptFile(text, file);
  if ("errors" in parsed)
    throw new UsageError(
      `--prompts takes one chat request a line:\n${parsed.errors.map((error) => `  ${error}`).join("\n")}`,
    );
  return parsed;
}

export default defineCommand({
  meta: {
    name: "bench",
    description:
      "measure a server as its profile runs it, through the gateway and directly; compare flag variants, or several servers side by side on the same prompts",
  },
  args: {
    server: {
      type: "positional",
      description:
        "server name or alias; name several to compare them side by side (ratios against the first)",
      required: true,
    },
    context: {
      type: "string",
      description: "tokens per request, e.g. 4k,32k (with a prompt set: the long prefill's size)",
      default: "1k",
      valueHint: "N,…",
    },
    concurrency: {
      type: "string",
      description: "requests at once, e.g. 1,4",
      default: "1",
      valueHint: "N,…",
    },
    vary: {
      type: "string",
      description: 'flag variants measured in turn, e.g. "--flash-attn on | --flash-attn off"',
      valueHint: "A | B",
    },
    prompts: {
      type: "string",
      description:
        "JSONL file, one chat request a line, measured instead of the built-in set (short chat, long prefill, tool call)",
      valueHint: "FILE",
    },
    rounds: { type: "string", description: "rounds (every subject and path once per round)", default: "3" },
    tokens: { type: "string", description: "tokens generated per answer", default: "64" },
    history: { type: "boolean", description: "list the server's recorded runs instead", default: false },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args, rawArgs }) {
    const config = await loadOrExit(args.home);
    const vary = rawOption(rawArgs, "vary");
    // citty reads a --vary value that starts with "--" as flags, never as positionals; drop it anyway.
    const names = (args._ as string[]).filter((name) => name !== vary);
    const servers = serversNamed(config, names.length ? names : [args.server]);
    const [server] = servers as [Server, ...Server[]];
    if (args.history) {
      if (servers.length > 1)
        throw new UsageError("--history lists one server's runs: rig bench --history SERVER");
      return printHistory(config, server.name, args.json);
    }
    const sideBySide = servers.length > 1;
    if (sideBySide && vary !== undefined)
      throw new UsageError(
        "--vary varies one server's flags; to compare servers, name them without it (or give a variant its own profile)",
      );
    const prompts = promptSet(typeof args.prompts === "string" ? args.prompts : undefined, sideBySide);
    let base: Omit<BenchSettings, "subjects">;
    try {
      base = settingsOf(
        { ...args, vary },
        servers,
        !prompts || prompts.some((prompt) => prompt.fillsContext),
      );
    } catch (error) {
      if (error instanceof SettingsError) throw new UsageError(error.message);
      throw error;
    }
    const specs = base.vary === null ? [] : parseVary(base.vary);
    if ("error" in specs) throw new UsageError(specs.error);
    if (specs.length && !launchPlan(config, server).process)
      throw new UsageError(
        `--vary changes launch flags, and rig does not launch ${server.name} (${server.runtime})`,
      );
    const measured = subjectsOf(servers, specs);
    const subjects = measured.map(({ subject }) => subject);
    const settings: BenchSettings = {
      ...base,
      subjects,
      ...(sideBySide ? { servers: servers.map((each) => each.name) } : {}),
      ...(prompts ? { prompts: typeof args.prompts === "string" ? args.prompts : BUILT_IN } : {}),
    };

    await ensureDaemon(config);
    const bar = progress(`bench ${servers.map((each) => each.name).join(" ")}`, 10_000);
    if (specs.length) await setVariants(config, server.name, specs);
    const ended = () => void setVariants(config, server.name, []).finally(() => process.exit(130));
    process.once("SIGINT", ended);
    const driver = daemonDriver(
      config,
      new Map(measured.map(({ subject, profile }) => [subject.name, profile])),
      bar,
    );
    let run: Awaited<ReturnType<typeof runBench>>;
    try {
      run = await runBench(
        {
          subjects,
          cells: cellsOf(settings, prompts),
          rounds: settings.rounds,
          maxTokens: settings.max_tokens,
          timeoutMs: Math.max(...servers.map((each) => each.responseTimeoutMs || 600_000)),
          firstRequest: Math.floor(Math.random() * 900_000),
          ...(prompts ? { paths: ["direct"] as const, prompts } : {}),
        },
        driver,
      );
    } catch (error) {
      bar.fail((error as Error).message.split("\n")[0]!);
      throw error;
    } finally {
      process.off("SIGINT", ended);
      if (specs.length) await setVariants(config, server.name, []);
    }
    const results: BenchResults = {
      ...summarize(
        run.rounds,
        subjects.map((subject) => subject.name),
      ),
      rounds: run.rounds,
      prompt: { scales: run.scales, off_target: run.offTarget },
    };
    // A --vary run is its server's, with the runtime build its first variant reported.
    const versions = new Map<string, string | null>();
    for (const [index, each] of servers.entries())
      versions.set(each.name, (await driver.versions.get(subjects[sideBySide ? index : 0]!.name)) ?? null);
    const records = benchRecords(config, servers, versions, {
      machine: await machineFacts(),
      settings,
      results,
    });
    const ids: Array<number | null> = [];
    for (const record of records) ids.push(await recordRun(config, record));
    if (ids.includes(null))
      bar.fail("measured, but the ledger did not take the run (see `rig logs gateway`)");
    else
      bar.done(`recorded as run ${ids.map((id) => `#${id}`).join(", ")}; rig bench --history ${server.name}`);
    await refreshDocs(config);
    if (results.results.some((result) => result.errors.length)) process.exitCode = 1;
    if (args.json)
      return printJson(sideBySide ? sideBySideJson(records, ids) : { ...records[0]!, id: ids[0] });
    printRun(servers, settings, results);
  },
});
