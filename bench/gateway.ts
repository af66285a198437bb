// Gateway overhead, measured in one run on one machine: the same llama-server reached directly and
// through rig (a `remote` profile pointing at it, so both paths share one upstream), beside two peers:
// llama-server's own router mode, and a bare node:http + undici hop (bench/minimal-proxy.mjs, the
// floor for any Node gateway). A fast scripted upstream exposes rig's own cost. Every measurement
// interleaves the paths (rotating their order) so drift on a busy machine hits them alike.
// Writes a markdown report to stdout: tokens/s ratios, added time to first byte, gateway RSS.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/system/ports.ts";
import { sleep } from "../src/system/process.ts";
import { llamaServer, tinyModel } from "../test/support/llama.ts";
import { SCRIPTED_UPSTREAM } from "../test/support/stack.ts";

const MAIN = fileURLToPath(new URL("../dist/main.mjs", import.meta.url));
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
// Agents and the official SDKs keep connections alive; so does this client.
const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });
const children: ChildProcess[] = [];
let stopGateway = () => {};

async function waitHealthy(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${url} never became healthy`);
}

interface Sample {
  ttfbMs: number;
  tokens: number;
}

/** One streamed chat completion: time to the first content token, tokens counted. */
function stream(url: string, model: string, maxTokens = TOKENS, fresh = false): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({
      model,
      stream: true,
      max_tokens: maxTokens,
      messages: [{ role: "user", content: "Say something." }],
    });
    const started = performance.now();
    let ttfb: number | undefined;
    let tokens = 0;
    let buffered = "";
    const req = request(
      url,
      {
        method: "POST",
        agent: fresh ? false : keepAlive,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          const lines = buffered.split("\n");
          buffered = lines.pop() ?? "";
          for (const line of lines) {
            if (!line.startsWith("data: {")) continue;
            if (line.includes('"content":"')) {
              ttfb ??= performance.now() - started;
              tokens++;
            }
          }
        });
        res.on("end", () =>
          res.statusCode === 200
            ? resolve({ ttfbMs: ttfb ?? Number.NaN, tokens })
            : reject(new Error(`status ${res.statusCode}`)),
        );
        res.on("error", reject);
      },
    );
    req.on("error", (error) =>
      reject(new Error(`${url} (${model}, ${fresh ? "new connection" : "keep-alive"}): ${error.message}`)),
    );
    req.end(body);
  });
}

interface Target {
  url: string;
  model: string;
  /** A new connection per request: llama-server closes its connection after every stream. */
  fresh: boolean;
}

/** Tokens per second of `concurrency` clients each streaming `requests` answers. */
async function load(target: Target, concurrency: number, requests: number): Promise<number> {
  const started = performance.now();
  let tokens = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < requests; i++) {
        // Awaited first: `tokens += await …` would read `tokens` before the wait and lose other clients' counts.
        const sample = await stream(target.url, target.model, TOKENS, target.fresh);
        tokens += sample.tokens;
      }
    }),
  );
  return tokens / ((performance.now() - started) / 1000);
}

/** Each path's runs, interleaved round by round in a rotating order. */
async function interleaved<T>(
  targets: Record<string, Target>,
  rounds: number,
  run: (target: Target, name: string) => Promise<T>,
): Promise<Record<string, T[]>> {
  const names = Object.keys(targets);
  const results: Record<string, T[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      results[name]!.push(await run(targets[name]!, name));
    }
  }
  return results;
}

const median = (values: number[]) => percentile(values, 50);

const percentile = (values: number[], p: number) => {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function main() {
  const model = await tinyModel();
  const work = mkdtempSync(join(tmpdir(), "rig-bench-gw-"));
  const llamaArgs = ["-c", String(32 * 256), "--parallel", "32", "--threads", "1", "-n", String(TOKENS)];
  const start = async (argv: string[], health: string, env?: NodeJS.ProcessEnv) => {
    children.push(spawn(argv[0]!, argv.slice(1), { stdio: "ignore", env: { ...process.env, ...env } }));
    await waitHealthy(health);
  };

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
  const started = spawnSync(process.execPath, [MAIN, "gateway", "start", "--json", "--home", home], {
    encoding: "utf8",
  });
  const gatewayPid = (JSON.parse(started.stdout) as { pid: number }).pid;
  stopGateway = () => spawnSync(process.execPath, [MAIN, "gateway", "stop", "--home", home]);

  const chat = (port: number, name: string): Target => ({
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    model: name,
    fresh: name === "tiny",
  });
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
    for (let i = 0; i < 3; i++)
      await stream(target.url, target.model, 8, target.fresh).catch((error) => {
        throw new Error(`${target.url} (${target.model}): ${error.message}`);
      });

  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(gatewayPid))), 50);
  sampler.unref();

  const ttfbRows: string[] = [];
  for (const [label, targets] of [
    ["llama-server", llama],
    ["fast upstream", fast],
  ] as const) {
    const ttfb = await interleaved(
      targets,
      TTFB_PAIRS,
      async (target) => (await stream(target.url, target.model, 4, target.fresh)).ttfbMs,
    );
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
    const runs = await interleaved(llama, ROUNDS, (target) => load(target, concurrency, requests));
    const fastRuns = await interleaved(fast, ROUNDS, (target) => load(target, concurrency, requests));
    // The ratio of each round's runs, then the median over rounds: drift between rounds cancels.
    const ratio = (results: Record<string, number[]>, name: string) =>
      median(results[name]!.map((value, round) => value / results.direct![round]!)).toFixed(3);
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

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    stopGateway();
    for (const child of children) child.kill("SIGTERM");
  });
