// Anthropic Messages streaming, measured in one run on one machine against one llama-server: its own
// native /v1/messages directly, rig passing that through (translate: auto), rig translating to Chat
// Completions (translate: always, what every chat-only runtime gets), and claude-code-router 2.0.0
// (installed pinned into ~/.cache/rig/bench, outside the repo) translating to the same Chat endpoint.
// Paths are interleaved in rotating order. A second llama-server on all cores (its default) measures
// the time to the first text delta under load: 4 concurrent clients, with a bare node hop beside rig
// (what any separate process pays there). Writes a markdown report to stdout.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheRoot } from "../src/install/llama-cpp.ts";
import { freePort } from "../src/system/ports.ts";
import { tinyModel } from "../test/support/llama.ts";
import {
  addedTimeTable,
  interleaved,
  load,
  median,
  messagesTarget,
  roundRatio,
  runBenchmark,
  startBareHop,
  startLlama,
  startRigGateway,
  startService,
  stream,
} from "./support.ts";

const CCR_VERSION = "2.0.0";
const TOKENS = Number(process.env.TOKENS ?? 96);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const TTFB_REQUESTS = Number(process.env.TTFB_PAIRS ?? 100);
const LOADS: [number, number][] = [
  [1, 10],
  [8, 4],
];
/** Under load: clients at once, answers each per round, rounds. */
const BUSY_CLIENTS = 4;
const BUSY_ANSWERS = 3;
const BUSY_ROUNDS = Number(process.env.BUSY_ROUNDS ?? 30);

/** claude-code-router, pinned, in rig's cache: installed on first use like the agent CLIs. */
function claudeCodeRouter(): string {
  const dir = join(cacheRoot(), "bench", `claude-code-router-${CCR_VERSION}`);
  const cli = join(dir, "node_modules", "@musistudio", "claude-code-router", "dist", "cli.js");
  if (existsSync(cli)) return cli;
  mkdirSync(dir, { recursive: true });
  const installed = spawnSync(
    "npm",
    ["install", "--prefix", dir, "--no-audit", "--no-fund", `@musistudio/claude-code-router@${CCR_VERSION}`],
    { stdio: "inherit" },
  );
  if (installed.status !== 0) throw new Error("installing claude-code-router failed");
  return cli;
}

async function main() {
  const model = await tinyModel();
  const work = mkdtempSync(join(tmpdir(), "rig-bench-dialects-"));
  // Eight slots for up to eight clients, each answer cut at TOKENS.
  const slots = ["-m", model, "-c", String(8 * 512), "--parallel", "8", "-n", String(TOKENS)];
  const llamaPort = await startLlama([...slots, "--threads", "1"]);

  const ccrHome = join(work, "ccr-home");
  const ccrPort = await freePort();
  mkdirSync(join(ccrHome, ".claude-code-router"), { recursive: true });
  writeFileSync(
    join(ccrHome, ".claude-code-router", "config.json"),
    JSON.stringify({
      PORT: ccrPort,
      LOG: false,
      Providers: [
        {
          name: "llama",
          api_base_url: `http://127.0.0.1:${llamaPort}/v1/chat/completions`,
          api_key: "bench",
          models: ["tiny"],
        },
      ],
      Router: { default: "llama,tiny" },
    }),
  );
  await startService([process.execPath, claudeCodeRouter(), "start"], `http://127.0.0.1:${ccrPort}/`, {
    env: { HOME: ccrHome },
    anyStatus: true,
  });

  // The same model on all cores: every other process now waits for a core to be given back.
  const busyPort = await startLlama(slots);
  const busyHop = await startBareHop(busyPort);

  const home = join(work, "home");
  mkdirSync(home);
  const gatewayPort = await freePort();
  writeFileSync(
    join(home, "rig.yaml"),
    [
      `gateway: { port: ${gatewayPort} }`,
      "servers:",
      `  native: { runtime: remote, url: "http://127.0.0.1:${llamaPort}/v1", translate: never }`,
      `  translated: { runtime: remote, url: "http://127.0.0.1:${llamaPort}/v1", translate: always }`,
      `  busy-native: { runtime: remote, url: "http://127.0.0.1:${busyPort}/v1", translate: never }`,
      `  busy-translated: { runtime: remote, url: "http://127.0.0.1:${busyPort}/v1", translate: always }`,
      "",
    ].join("\n"),
  );
  startRigGateway(home);

  // llama-server closes its connection after every stream, so every path gets a new connection.
  const targets = {
    direct: messagesTarget(llamaPort, "tiny", true),
    "rig native": messagesTarget(gatewayPort, "native", true),
    "rig translated": messagesTarget(gatewayPort, "translated", true),
    "claude-code-router": { ...messagesTarget(ccrPort, "tiny", true), failures: [] as string[] },
  };
  for (const target of Object.values(targets)) for (let i = 0; i < 3; i++) await stream(target, 8);

  const ttfb = await interleaved(targets, TTFB_REQUESTS, async (target) => (await stream(target, 4)).ttfbMs);
  const throughput = LOADS.map(([concurrency, requests]) => ({ concurrency, requests }));
  const rows: string[] = [];
  for (const { concurrency, requests } of throughput) {
    const runs = await interleaved(targets, ROUNDS, (target) => load(target, concurrency, requests, TOKENS));
    rows.push(
      `| ${concurrency} | ${median(runs.direct!).toFixed(0)} | ${Object.keys(targets)
        .slice(1)
        .map((name) => (name === "rig translated" ? `**${roundRatio(runs, name)}**` : roundRatio(runs, name)))
        .join(" | ")} |`,
    );
  }

  const busy = {
    direct: messagesTarget(busyPort, "tiny", true),
    "rig native": messagesTarget(gatewayPort, "busy-native", true),
    "rig translated": messagesTarget(gatewayPort, "busy-translated", true),
    "bare hop": messagesTarget(busyHop.port, "tiny", true),
  };
  for (const target of Object.values(busy)) for (let i = 0; i < 3; i++) await stream(target, 8);
  const busyTtfb = await interleaved(busy, BUSY_ROUNDS, async (target) => {
    const samples = await Promise.all(
      Array.from({ length: BUSY_CLIENTS }, async () => {
        const times: number[] = [];
        for (let i = 0; i < BUSY_ANSWERS; i++) times.push((await stream(target, TOKENS)).ttfbMs);
        return times;
      }),
    );
    return samples.flat();
  });
  const busyAll = Object.fromEntries(Object.entries(busyTtfb).map(([name, rounds]) => [name, rounds.flat()]));

  console.log("# Anthropic Messages streaming: translation overhead\n");
  console.log(
    `One llama-server (tiny model, --threads 1). \`direct\` is its native /v1/messages; \`rig native\` passes that through; \`rig translated\` and claude-code-router ${CCR_VERSION} both translate to its /v1/chat/completions. Paths interleaved in rotating order, a new connection per request. Ratios are the median over ${ROUNDS} rounds of each round's ratio to direct.\n`,
  );
  console.log(`## Throughput (tokens/s relative to direct, ${TOKENS}-token answers)\n`);
  console.log(`| concurrency | direct tok/s | ${Object.keys(targets).slice(1).join(" | ")} |`);
  console.log("|---|---|---|---|---|");
  for (const row of rows) console.log(row);
  console.log(`\n## Added time to first text delta (ms, p50 / p90), ${TTFB_REQUESTS} requests per path\n`);
  console.log(addedTimeTable(ttfb));
  const ccrFailures = targets["claude-code-router"].failures;
  if (ccrFailures.length)
    console.log(
      `\nclaude-code-router failed ${ccrFailures.length} requests (not counted): ${[...new Set(ccrFailures.map((failure) => failure.slice(0, 160)))].join("; ")}`,
    );
  console.log(
    `\n## Under load: added time to first text delta (ms, p50 / p90), ${BUSY_CLIENTS} concurrent clients, llama-server on all cores\n`,
  );
  console.log(
    `${BUSY_ROUNDS} rounds of ${BUSY_CLIENTS} clients × ${BUSY_ANSWERS} answers per path, new connections; the bare hop is bench/minimal-proxy.mjs.\n`,
  );
  console.log(addedTimeTable(busyAll));
  console.log(
    `\n${new Date().toISOString().slice(0, 10)}, node ${process.version}, 2 cores; llama-server from node-llama-cpp 3.21.1.`,
  );
}

runBenchmark(main);
