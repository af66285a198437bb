// Gateway overhead, measured in one run on one machine: the same llama-server reached directly and
// through rig (a `remote` profile pointing at it, so both paths share one upstream), beside two peers:
// llama-server's own router mode, and a bare node:http + undici hop (bench/minimal-proxy.mjs, the
// floor for any Node gateway). A fast scripted upstream exposes rig's own cost. Every measurement
// interleaves the paths (rotating their order) so drift on a busy machine hits them alike.
// Writes a markdown report to stdout: tokens/s ratios, added time to first byte, gateway RSS.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/system/ports.ts";
import { llamaServer, tinyModel } from "../test/support/llama.ts";
import { SCRIPTED_UPSTREAM } from "../test/support/stack.ts";
import {
  chatTarget,
  interleaved,
  load,
  median,
  percentile,
  roundRatio,
  rssMb,
  runBenchmark,
  startRigGateway,
  startService,
  stream,
  type Target,
} from "./support.ts";

const TOKENS = Number(process.env.TOKENS ?? 96);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TTFB_PAIRS = Number(process.env.TTFB_PAIRS ?? 150);
/** Concurrency → requests per client in one run. */
const LOADS: [number, number][] = [
  [1, 10],
  [8, 4],
  [32, 2],
];
const MINIMAL_PROXY = fileURLToPath(new URL("./minimal-proxy.mjs", import.meta.url));

async function main() {
  const model = await tinyModel();
  const work = mkdtempSync(join(tmpdir(), "rig-bench-gw-"));
  const llamaArgs = ["-c", String(32 * 256), "--parallel", "32", "--threads", "1", "-n", String(TOKENS)];
  const start = (argv: string[], health: string, env?: NodeJS.ProcessEnv) =>
    startService(argv, health, { env });

  const directPort = await freePort();
  await start(
    [llamaServer(), "-m", model, "--host", "127.0.0.1", "--port", String(directPort), ...llamaArgs],
    `http://127.0.0.1:${directPort}/health`,
  );
  const fastPort = await freePort();
  const script = join(work, "fast.json");
  writeFileSync(
    script,
    JSON.stringify([{ deltas: Array.from({ length: TOKENS }, (_, i) => ({ content: ` w${i}` })) }]),
  );
  await start(
    [process.execPath, SCRIPTED_UPSTREAM, "--port", String(fastPort)],
    `http://127.0.0.1:${fastPort}/health`,
    { SCRIPT: script },
  );
  const routerDir = join(work, "models");
  mkdirSync(routerDir);
  writeFileSync(join(routerDir, "tiny.gguf"), readFileSync(model));
  const routerPort = await freePort();
  await start(
    [
      llamaServer(),
      "--models-dir",
      routerDir,
      "--host",
      "127.0.0.1",
      "--port",
      String(routerPort),
      ...llamaArgs,
    ],
    `http://127.0.0.1:${routerPort}/health`,
  );
  const minimalPort = await freePort();
  const minimalFastPort = await freePort();
  await start(
    [process.execPath, MINIMAL_PROXY, String(minimalPort), `http://127.0.0.1:${directPort}`],
    `http://127.0.0.1:${minimalPort}/health`,
  );
  await start(
    [process.execPath, MINIMAL_PROXY, String(minimalFastPort), `http://127.0.0.1:${fastPort}`],
    `http://127.0.0.1:${minimalFastPort}/health`,
  );

  const home = join(work, "home");
  mkdirSync(home);
  const gatewayPort = await freePort();
  writeFileSync(
    join(home, "rig.yaml"),
    `gateway: { port: ${gatewayPort} }\nservers:\n  tiny: { runtime: remote, url: "http://127.0.0.1:${directPort}/v1" }\n  fast: { runtime: remote, url: "http://127.0.0.1:${fastPort}/v1" }\n`,
  );
  const gatewayPid = startRigGateway(home);

  const chat = (port: number, name: string): Target => chatTarget(port, name, name === "tiny");
  const llama: Record<string, Target> = {
    direct: chat(directPort, "tiny"),
    rig: chat(gatewayPort, "tiny"),
    router: chat(routerPort, "tiny"),
    minimal: chat(minimalPort, "tiny"),
  };
  const fast: Record<string, Target> = {
    direct: chat(fastPort, "fast"),
    rig: chat(gatewayPort, "fast"),
    minimal: chat(minimalFastPort, "fast"),
  };
  // Warm every path (the router loads its model on first use).
  for (const target of [...Object.values(llama), ...Object.values(fast)])
    for (let i = 0; i < 3; i++) await stream(target, 8);

  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(gatewayPid))), 50);
  sampler.unref();

  const ttfbRows: string[] = [];
  for (const [label, targets] of [
    ["llama-server", llama],
    ["fast upstream", fast],
  ] as const) {
    const ttfb = await interleaved(targets, TTFB_PAIRS, async (target) => (await stream(target, 4)).ttfbMs);
    const added = (name: string, p: number) =>
      (percentile(ttfb[name]!, p) - percentile(ttfb.direct!, p)).toFixed(2);
    ttfbRows.push(
      `| ${label} | ${median(ttfb.direct!).toFixed(2)} | **${added("rig", 50)}** / ${added("rig", 90)} | ${added("minimal", 50)} / ${added("minimal", 90)} | ${
        ttfb.router ? `${added("router", 50)} / ${added("router", 90)}` : "-"
      } |`,
    );
  }

  const rows: string[] = [];
  for (const [concurrency, requests] of LOADS) {
    const runs = await interleaved(llama, ROUNDS, (target) => load(target, concurrency, requests, TOKENS));
    const fastRuns = await interleaved(fast, ROUNDS, (target) => load(target, concurrency, requests, TOKENS));
    const ratio = roundRatio;
    rows.push(
      `| ${concurrency} | ${median(runs.direct!).toFixed(0)} | **${ratio(runs, "rig")}** | ${ratio(runs, "router")} | ${ratio(runs, "minimal")} | ${ratio(fastRuns, "rig")} | ${ratio(fastRuns, "minimal")} |`,
    );
  }
  clearInterval(sampler);

  console.log("# Gateway overhead\n");
  console.log(
    `Streamed chat completions. Paths interleaved in rotating order; ratios are the median over ${ROUNDS} rounds of each round's ratio to direct. Clients open a new connection per request to every llama-server path (llama-server closes its connection after each stream even though it advertises keep-alive, so a client cannot reuse it) and keep connections alive to the fast upstream (as agents and the SDKs do).\n`,
  );
  console.log("## Throughput (tokens/s relative to direct)\n");
  console.log(
    `${TOKENS}-token answers. Peers: llama-server's router mode (its own proxy hop), and a bare node:http + undici hop (bench/minimal-proxy.mjs).\n`,
  );
  console.log(
    "| concurrency | direct tok/s | rig / direct | router / direct | bare hop / direct | fast upstream: rig / direct | fast: bare hop / direct |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const row of rows) console.log(row);
  console.log("\n## Added time to first token (ms, p50 / p90), one request at a time\n");
  console.log(`${TTFB_PAIRS} requests per path.\n`);
  console.log("| upstream | direct p50 | rig | bare hop | router |");
  console.log("|---|---|---|---|---|");
  for (const row of ttfbRows) console.log(row);
  console.log(`\nGateway peak RSS during the runs (up to 32 streams): **${peakRss.toFixed(1)} MB**.`);
  console.log(
    `\n${new Date().toISOString().slice(0, 10)}, node ${process.version}, 2 cores; tiny model (random weights) on llama-server from node-llama-cpp 3.21.1, --threads 1.`,
  );
}

runBenchmark(main);
