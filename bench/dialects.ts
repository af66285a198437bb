// Anthropic Messages streaming, measured in one run on one machine against one llama-server: its own
// native /v1/messages directly, rig passing that through (translate: auto), rig translating to Chat
// Completions (translate: always, what every chat-only runtime gets), and claude-code-router 2.0.0
// (installed pinned into ~/.cache/rig/bench, outside the repo) translating to the same Chat endpoint.
// Paths are interleaved in rotating order. Writes a markdown report to stdout.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheRoot } from "../src/install/llama-cpp.ts";
import { freePort } from "../src/system/ports.ts";
import { llamaServer, tinyModel } from "../test/support/llama.ts";
import {
  interleaved,
  load,
  median,
  messagesTarget,
  percentile,
  roundRatio,
  runBenchmark,
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
  const llamaPort = await freePort();
  await startService(
    [
      llamaServer(),
      "-m",
      model,
      "--host",
      "127.0.0.1",
      "--port",
      String(llamaPort),
      "-c",
      String(8 * 512),
      "--parallel",
      "8",
      "--threads",
      "1",
      "-n",
      String(TOKENS),
    ],
    `http://127.0.0.1:${llamaPort}/health`,
  );

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
      "",
    ].join("\n"),
  );
  startRigGateway(home);

  // llama-server closes its connection after every stream, so every path gets a new connection.
  const targets = {
    direct: messagesTarget(llamaPort, "tiny", true),
    "rig native": messagesTarget(gatewayPort, "native", true),
    "rig translated": messagesTarget(gatewayPort, "translated", true),
    "claude-code-router": messagesTarget(ccrPort, "tiny", true),
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
  const added = (name: string, p: number) =>
    (percentile(ttfb[name]!, p) - percentile(ttfb.direct!, p)).toFixed(2);

  console.log("# Anthropic Messages streaming: translation overhead\n");
  console.log(
    `One llama-server (tiny model, --threads 1). \`direct\` is its native /v1/messages; \`rig native\` passes that through; \`rig translated\` and claude-code-router ${CCR_VERSION} both translate to its /v1/chat/completions. Paths interleaved in rotating order, a new connection per request. Ratios are the median over ${ROUNDS} rounds of each round's ratio to direct.\n`,
  );
  console.log(`## Throughput (tokens/s relative to direct, ${TOKENS}-token answers)\n`);
  console.log(`| concurrency | direct tok/s | ${Object.keys(targets).slice(1).join(" | ")} |`);
  console.log("|---|---|---|---|---|");
  for (const row of rows) console.log(row);
  console.log(`\n## Added time to first text delta (ms, p50 / p90), ${TTFB_REQUESTS} requests per path\n`);
  console.log(`| direct p50 | ${Object.keys(targets).slice(1).join(" | ")} |`);
  console.log("|---|---|---|---|");
  console.log(
    `| ${median(ttfb.direct!).toFixed(2)} | ${Object.keys(targets)
      .slice(1)
      .map((name) => `${added(name, 50)} / ${added(name, 90)}`)
      .join(" | ")} |`,
  );
  console.log(
    `\n${new Date().toISOString().slice(0, 10)}, node ${process.version}, 2 cores; llama-server from node-llama-cpp 3.21.1.`,
  );
}

runBenchmark(main);
