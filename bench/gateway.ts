// Gateway overhead, measured in one run on one machine: the same llama-server reached directly and
// through rig (a `remote` profile pointing at it, so both paths share one upstream), beside three peers:
// llama-server's own router mode, a bare node:http + undici hop (bench/minimal-proxy.mjs, the floor for
// any Node gateway) and nginx (the floor for any process hop). A fast scripted upstream exposes each
// hop's own cost: added time to first byte, and CPU time per streamed token read from /proc/<pid>/stat.
// Every measurement interleaves the paths (rotating their order) so drift on a busy machine hits them
// alike. Writes a markdown report to stdout. SECTIONS=throughput,ttfb,cpu picks the parts to run.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../src/system/ports.ts";
import { tinyModel } from "../test/support/llama.ts";
import { SCRIPTED_UPSTREAM } from "../test/support/stack.ts";
import {
  chatTarget,
  cpuSeconds,
  interleaved,
  load,
  loadRun,
  median,
  percentile,
  roundRatio,
  roundRatioSpread,
  rssMb,
  runBenchmark,
  startBareHop,
  startLlama,
  startNginx,
  startRigGateway,
  startService,
  stream,
  type Target,
} from "./support.ts";

const TOKENS = Number(process.env.TOKENS ?? 96);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TTFB_PAIRS = Number(process.env.TTFB_PAIRS ?? 150);
const SECTIONS = new Set((process.env.SECTIONS ?? "throughput,ttfb,cpu").split(","));
/** Concurrency → requests per client in one run. */
const LOADS: [number, number][] = [
  [1, 10],
  [8, 4],
  [32, 2],
];
/**
 * CPU per token is measured on answers paced like a model's (one token every millisecond, each its own
 * chunk): unpaced, a proxy that falls behind reads several tokens at once and looks cheaper the slower
 * it is. Concurrency → requests per client.
 */
const CPU_TOKENS = 256;
const CPU_PACE_MS = 1;
const CPU_ROUNDS = Number(process.env.CPU_ROUNDS ?? 5);
const CPU_LOADS: [number, number][] = [
  [1, 10],
  [8, 4],
];

async function main() {
  const model = await tinyModel();
  const work = mkdtempSync(join(tmpdir(), "rig-bench-gw-"));
  const llamaArgs = ["-c", String(32 * 256), "--parallel", "32", "--threads", "1", "-n", String(TOKENS)];
  const start = (argv: string[], health: string, env?: NodeJS.ProcessEnv) =>
    startService(argv, health, { env });

  const directPort = await startLlama(["-m", model, ...llamaArgs]);

  const fastPort = await freePort();
  const script = join(work, "fast.json");
  // The answer's length follows the request's max_tokens, as a runtime's would.
  writeFileSync(
    script,
    JSON.stringify([
      { match: `"max_tokens":${CPU_TOKENS}`, deltas: words(CPU_TOKENS), chunk_delay_ms: CPU_PACE_MS },
      { match: `"max_tokens":4,`, deltas: words(4) },
      { match: `"max_tokens":8,`, deltas: words(8) },
      { deltas: words(TOKENS) },
    ]),
  );
  await start(
    [process.execPath, SCRIPTED_UPSTREAM, "--port", String(fastPort)],
    `http://127.0.0.1:${fastPort}/health`,
    { SCRIPT: script },
  );
  const routerDir = join(work, "models");
  mkdirSync(routerDir);
  writeFileSync(join(routerDir, "tiny.gguf"), readFileSync(model));
  const routerPort = await startLlama(["--models-dir", routerDir, ...llamaArgs]);

  const minimal = await startBareHop(directPort);
  const minimalFast = await startBareHop(fastPort);
  const nginx = await startNginx(directPort, false);
  const nginxFast = await startNginx(fastPort, true);

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
    minimal: chat(minimal.port, "tiny"),
    nginx: chat(nginx.port, "tiny"),
  };
  const fast: Record<string, Target> = {
    direct: chat(fastPort, "fast"),
    rig: chat(gatewayPort, "fast"),
    minimal: chat(minimalFast.port, "fast"),
    nginx: chat(nginxFast.port, "fast"),
  };
  // Warm every path (the router loads its model on first use).
  for (const target of [...Object.values(llama), ...Object.values(fast)])
    for (let i = 0; i < 3; i++) await stream(target, 8);

  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(gatewayPid))), 50);
  sampler.unref();

  const ttfbRows: string[] = [];
  if (SECTIONS.has("ttfb"))
    for (const [label, targets] of [
      ["llama-server", llama],
      ["fast upstream", fast],
    ] as const) {
      const ttfb = await interleaved(targets, TTFB_PAIRS, async (target) => (await stream(target, 4)).ttfbMs);
      const added = (name: string, p: number) =>
        ttfb[name] ? `${(percentile(ttfb[name], p) - percentile(ttfb.direct!, p)).toFixed(2)}` : "-";
      const both = (name: string) => (ttfb[name] ? `${added(name, 50)} / ${added(name, 90)}` : "-");
      ttfbRows.push(
        `| ${label} | ${median(ttfb.direct!).toFixed(2)} | **${added("rig", 50)}** / ${added("rig", 90)} | ${both("minimal")} | ${both("nginx")} | ${both("router")} |`,
      );
    }

  const rows: string[] = [];
  if (SECTIONS.has("throughput"))
    for (const [concurrency, requests] of LOADS) {
      const runs = await interleaved(llama, ROUNDS, (target) => load(target, concurrency, requests, TOKENS));
      const fastRuns = await interleaved(fast, ROUNDS, (target) =>
        load(target, concurrency, requests, TOKENS),
      );
      const ratio = roundRatio;
      rows.push(
        `| ${concurrency} | ${median(runs.direct!).toFixed(0)} | **${ratio(runs, "rig")}** | ${ratio(runs, "router")} | ${ratio(runs, "minimal")} | ${ratio(runs, "nginx")} | ${ratio(fastRuns, "rig")} | ${ratio(fastRuns, "minimal")} | ${ratio(fastRuns, "nginx")} |`,
      );
    }
  clearInterval(sampler);

  const cpuRows: string[] = [];
  if (SECTIONS.has("cpu")) {
    const proxies: Record<string, number> = {
      rig: gatewayPid,
      minimal: minimalFast.pid,
      nginx: nginxFast.pid,
    };
    for (const [concurrency, requests] of CPU_LOADS) {
      const perToken: Record<string, number[]> = { rig: [], minimal: [], nginx: [] };
      const runs = await interleaved(fast, CPU_ROUNDS, async (target) => {
        const proxy = Object.keys(proxies).find((name) => fast[name] === target);
        const before = proxy ? cpuSeconds(proxies[proxy]!) : 0;
        const { tokens, seconds } = await loadRun(target, concurrency, requests, CPU_TOKENS);
        if (proxy) perToken[proxy]!.push(((cpuSeconds(proxies[proxy]!) - before) * 1e6) / tokens);
        return tokens / seconds;
      });
      const us = (name: string) => median(perToken[name]!).toFixed(1);
      cpuRows.push(
        `| ${concurrency} | **${us("rig")}** | ${us("minimal")} | ${us("nginx")} | **${roundRatioSpread(perToken, "rig", "minimal")}** | ${roundRatio(runs, "rig")} | ${roundRatio(runs, "minimal")} | ${roundRatio(runs, "nginx")} |`,
      );
    }
  }

  console.log("# Gateway overhead\n");
  console.log(
    `Streamed chat completions. Paths interleaved in rotating order; ratios are the median over ${ROUNDS} rounds of each round's ratio to direct. Clients open a new connection per request to every llama-server path (llama-server closes its connection after each stream even though it advertises keep-alive, so a client cannot reuse it) and keep connections alive to the fast upstream (as agents and the SDKs do). Peers: llama-server's router mode (its own proxy hop), a bare node:http + undici hop (bench/minimal-proxy.mjs), and nginx ${"(one worker, upstream keep-alive, proxy_buffering off)"}.\n`,
  );
  if (rows.length) {
    console.log("## Throughput (tokens/s relative to direct)\n");
    console.log(`${TOKENS}-token answers.\n`);
    console.log(
      "| concurrency | direct tok/s | rig / direct | router / direct | bare hop / direct | nginx / direct | fast upstream: rig / direct | fast: bare hop / direct | fast: nginx / direct |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const row of rows) console.log(row);
  }
  if (ttfbRows.length) {
    console.log("\n## Added time to first token (ms, p50 / p90), one request at a time\n");
    console.log(`${TTFB_PAIRS} requests per path.\n`);
    console.log("| upstream | direct p50 | rig | bare hop | nginx | router |");
    console.log("|---|---|---|---|---|---|");
    for (const row of ttfbRows) console.log(row);
  }
  if (cpuRows.length) {
    console.log("\n## CPU time per streamed token (fast upstream, keep-alive clients)\n");
    console.log(
      `CPU time of each proxy process (all threads, from /proc/<pid>/task/*/schedstat) over ${CPU_TOKENS}-token answers paced ${CPU_PACE_MS} ms per token, divided by the tokens it relayed; median over ${CPU_ROUNDS} rounds. Target: rig at most 1.3× the bare hop.\n`,
    );
    console.log(
      "| streams | rig µs/token | bare hop µs/token | nginx µs/token | rig / bare hop (range) | rig tok/s / direct | bare hop / direct | nginx / direct |",
    );
    console.log("|---|---|---|---|---|---|---|---|");
    for (const row of cpuRows) console.log(row);
  }
  if (rows.length)
    console.log(`\nGateway peak RSS during the runs (up to 32 streams): **${peakRss.toFixed(1)} MB**.`);
  console.log(
    `\n${new Date().toISOString().slice(0, 10)}, node ${process.version}, 2 cores; tiny model (random weights) on llama-server from node-llama-cpp 3.21.1, --threads 1.`,
  );
}

function words(count: number): Array<{ content: string }> {
  return Array.from({ length: count }, (_, i) => ({ content: ` w${i}` }));
}

runBenchmark(main);
