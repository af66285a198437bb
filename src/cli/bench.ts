import { defineCommand } from "citty";
import { streamChat } from "../bench/client.ts";
import { readBenchRuns, storedRun } from "../bench/history.ts";
import { machineFacts } from "../bench/machine.ts";
import { formatTokenCount, parseTokenCount } from "../bench/prompt.ts";
import {
  type BenchResults,
  type BenchSettings,
  cellName,
  commandOf,
  headlines,
  ms,
  perSecond,
} from "../bench/report.ts";
import { type BenchDriver, runBench, type Subject } from "../bench/run.ts";
import { summarize } from "../bench/summary.ts";
import { parseVary, type VariantSpec, variantName, variantServers } from "../bench/variants.ts";
import { runtimeVersion } from "../bench/version.ts";
import type { Config, Server } from "../config/loader.ts";
import { findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { gatewayUrl } from "../config/urls.ts";
import { fingerprint } from "../inventory/fingerprint.ts";
import type { BenchRecord } from "../ledger/ledger.ts";
import { modelIsPath, runtimeFor } from "../runtimes/index.ts";
import { launchPlan } from "../runtimes/plan.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError, refreshDocs, UsageError } from "./common.ts";
import { call, ensureDaemon, startServer } from "./daemon-client.ts";
import { progress } from "./progress.ts";
import { table } from "./table.ts";

const CHAT_PATH = "/v1/chat/completions";

function positiveList(text: string, option: string, parse: (word: string) => number | undefined): number[] {
  const values = text.split(",").map((word) => parse(word));
  if (!values.length || values.some((value) => value === undefined))
    throw new UsageError(
      `--${option} takes a comma-separated list like ${option === "context" ? "4k,32k" : "1,4"}`,
    );
  return [...new Set(values as number[])];
}

const wholeNumber = (word: string) =>
  /^\s*\d+\s*$/.test(word) && Number(word) > 0 ? Number(word) : undefined;

function settingsOf(args: Record<string, unknown>, server: Server): Omit<BenchSettings, "subjects"> {
  const contexts = positiveList(String(args.context), "context", parseTokenCount);
  const maxTokens = wholeNumber(String(args.tokens));
  const rounds = wholeNumber(String(args.rounds));
  if (!maxTokens) throw new UsageError("--tokens takes a whole number of tokens per answer");
  if (!rounds) throw new UsageError("--rounds takes a whole number");
  for (const context of contexts) {
    if (context <= maxTokens + 64)
      throw new UsageError(
        `--context ${formatTokenCount(context)} leaves no room for a prompt beside ${maxTokens} answer tokens`,
      );
    if (server.context && context > server.context)
      throw new UsageError(
        `--context ${formatTokenCount(context)} is more than ${server.name} serves (context: ${server.context} in rig.yaml)`,
      );
  }
  return {
    contexts,
    concurrency: positiveList(String(args.concurrency), "concurrency", wholeNumber),
    rounds,
    max_tokens: maxTokens,
    vary: typeof args.vary === "string" ? args.vary : null,
  };
}

/**
 * An option's value as typed: `--vary` takes runtime flags, and a value that starts like one of rig's
 * own (`--no-mmap | …`) must not be read as a flag by the parser.
 */
function rawOption(rawArgs: string[], name: string): string | undefined {
  const at = rawArgs.indexOf(`--${name}`);
  if (at !== -1) return rawArgs[at + 1] ?? "";
  return rawArgs.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** The profile a subject runs as: the server itself, or one of its variants as the daemon derives it. */
function profileOf(server: Server, subject: Subject, specs: VariantSpec[]): Server {
  const spec = specs.find((candidate) => variantName(server.name, candidate.label) === subject.name);
  return spec ? variantServers(server, [spec])[0]! : server;
}

/**
 * Subjects brought to ready through the daemon (as any use starts them), then reached both ways. The
 * runtime's version is read from the first one while it runs.
 */
function daemonDriver(
  config: Config,
  server: Server,
  specs: VariantSpec[],
  bar: ReturnType<typeof progress>,
): BenchDriver & { version(): Promise<string | null> } {
  const gateway = gatewayUrl(config);
  let version: Promise<string | null> | undefined;
  const headers: Record<string, string> = config.gateway.apiKey
    ? { authorization: `Bearer ${config.gateway.apiKey}` }
    : {};
  return {
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
      const plan = launchPlan(config, profileOf(server, subject, specs), final.server?.port ?? undefined);
      version ??= runtimeVersion(plan.baseUrl, plan.process?.argv[0]);
      return {
        gateway: { url: gateway + CHAT_PATH, model: subject.name, headers },
        direct: { url: plan.baseUrl + CHAT_PATH, model: plan.upstreamModel },
      };
    },
    ask: streamChat,
    version: () => version ?? Promise.resolve(null),
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

function printRun(server: Server, settings: BenchSettings, results: BenchResults): void {
  const labels = new Map(
    settings.subjects.map((subject) => [subject.name, subject.vary?.join(" ") || "as written"]),
  );
  const varied = settings.subjects.length > 1;
  const out: string[] = [
    pc.bold(
      `${server.name} (${server.runtime}): ${settings.rounds} rounds, ${settings.max_tokens} tokens per answer, paths and subjects interleaved`,
    ),
  ];
  if (varied)
    out.push(...settings.subjects.map((subject) => `  ${subject.name}  ${labels.get(subject.name)}`));
  out.push(
    "",
    table(
      [
        ...(varied ? ["variant"] : []),
        "context",
        "path",
        "first token",
        "prompt tok/s",
        "gen tok/s",
        "throughput",
      ],
      results.results.map((result) => [
        ...(varied ? [result.subject] : []),
        cellName(result),
        result.path,
        ms(result.ttft_ms),
        perSecond(result.prompt_tps),
        perSecond(result.gen_tps),
        perSecond(result.throughput_tps),
      ]),
    ),
    "",
  );
  if (varied)
    out.push(
      pc.bold(
        "against the first variant, measured directly (median of per-round ratios, range over the rounds):",
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

export default defineCommand({
  meta: {
    name: "bench",
    description:
      "measure a server as its profile runs it, through the gateway and directly; compare flag variants",
  },
  args: {
    server: { type: "positional", description: "server name or alias", required: true },
    context: {
      type: "string",
      description: "tokens per request, e.g. 4k,32k",
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
    rounds: { type: "string", description: "rounds (every subject and path once per round)", default: "3" },
    tokens: { type: "string", description: "tokens generated per answer", default: "64" },
    history: { type: "boolean", description: "list the server's recorded runs instead", default: false },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args, rawArgs }) {
    const config = await loadOrExit(args.home);
    const server = findServer(config, args.server);
    if (!server)
      throw new RigError(
        `no server named \`${args.server}\`${didYouMean(args.server, Object.keys(config.servers))} (see \`rig ls\`)`,
      );
    if (args.history) return printHistory(config, server.name, args.json);
    const base = settingsOf({ ...args, vary: rawOption(rawArgs, "vary") }, server);
    const specs = base.vary === null ? [] : parseVary(base.vary);
    if ("error" in specs) throw new UsageError(specs.error);
    if (specs.length && !launchPlan(config, server).process)
      throw new UsageError(
        `--vary changes launch flags, and rig does not launch ${server.name} (${server.runtime})`,
      );
    const subjects: Subject[] = specs.length
      ? specs.map((spec) => ({ name: variantName(server.name, spec.label), vary: spec.args }))
      : [{ name: server.name }];
    const settings: BenchSettings = { ...base, subjects };

    await ensureDaemon(config);
    const bar = progress(`bench ${server.name}`, 10_000);
    if (specs.length) await setVariants(config, server.name, specs);
    const ended = () => void setVariants(config, server.name, []).finally(() => process.exit(130));
    process.once("SIGINT", ended);
    const driver = daemonDriver(config, server, specs, bar);
    let run: Awaited<ReturnType<typeof runBench>>;
    try {
      run = await runBench(
        {
          subjects,
          cells: settings.contexts.flatMap((context) =>
            settings.concurrency.map((concurrency) => ({ context, concurrency })),
          ),
          rounds: settings.rounds,
          maxTokens: settings.max_tokens,
          timeoutMs: server.responseTimeoutMs || 600_000,
          firstRequest: Math.floor(Math.random() * 900_000),
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
    const [machine, version] = await Promise.all([machineFacts(), driver.version()]);
    const record: BenchRecord = {
      server: server.name,
      runtime: server.runtime,
      runtimeVersion: version,
      configHash: config.hash,
      profileHash: server.profileHash,
      modelFingerprint: modelIsPath(runtimeFor(server.runtime), server.modelPath)
        ? fingerprint(server.modelPath)
        : undefined,
      machine,
      settings,
      results,
    };
    const id = await recordRun(config, record);
    if (id === null) bar.fail("measured, but the ledger did not take the run (see `rig logs gateway`)");
    else bar.done(`recorded as run #${id}; rig bench --history ${server.name}`);
    await refreshDocs(config);
    if (results.results.some((result) => result.errors.length)) process.exitCode = 1;
    if (args.json) return printJson({ ...record, id });
    printRun(server, settings, results);
  },
});
