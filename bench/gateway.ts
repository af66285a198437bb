// Gateway overhead, measured in one run on one machine: the same llama-server reached directly and
// through rig (a `remote` profile pointing at it, so both paths share one upstream), llama-server's
// own router mode as a peer, and a fast scripted upstream that exposes rig's own cost.
// Writes a markdown table to stdout: tokens/s ratio, added time to first byte p50/p99, gateway RSS.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/system/ports.ts";
import { sleep } from "../src/system/process.ts";
import { llamaServer, tinyModel } from "../test/support/llama.ts";
import { SCRIPTED_UPSTREAM } from "../test/support/stack.ts";

const MAIN = fileURLToPath(new URL("../dist/main.mjs", import.meta.url));
const TOKENS = Number(process.env.TOKENS ?? 96);
const REQUESTS_PER_CLIENT = Number(process.env.REQUESTS ?? 6);
const CONCURRENCY = [1, 8, 32];
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

/** One streamed chat completion on a fresh connection: time to the first content token, tokens counted. */
function stream(url: string, model: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({
      model,
      stream: true,
      max_tokens: TOKENS,
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
        agent: false,
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
    req.on("error", reject);
    req.end(body);
  });
}

async function load(
  url: string,
  model: string,
  concurrency: number,
): Promise<{ tokensPerSecond: number; ttfb: number[] }> {
  const started = performance.now();
  const samples: Sample[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < REQUESTS_PER_CLIENT; i++) samples.push(await stream(url, model));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    tokensPerSecond: samples.reduce((sum, sample) => sum + sample.tokens, 0) / seconds,
    ttfb: samples.map((sample) => sample.ttfbMs),
  };
}

const percentile = (values: number[], p: number) => {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

async function main() {
  const model = await tinyModel();
  const work = mkdtempSync(join(tmpdir(), "rig-bench-gw-"));
  const llamaArgs = ["-c", String(32 * 256), "--parallel", "32", "--threads", "1", "-n", String(TOKENS)];

  const directPort = await freePort();
  children.push(
    spawn(llamaServer(), ["-m", model, "--host", "127.0.0.1", "--port", String(directPort), ...llamaArgs], {
      stdio: "ignore",
    }),
  );
  await waitHealthy(`http://127.0.0.1:${directPort}/health`);

  const fastPort = await freePort();
  const script = join(work, "fast.json");
  writeFileSync(
    script,
    JSON.stringify([{ deltas: Array.from({ length: TOKENS }, (_, i) => ({ content: ` w${i}` })) }]),
  );
  children.push(
    spawn(process.execPath, [SCRIPTED_UPSTREAM, "--port", String(fastPort)], {
      stdio: "ignore",
      env: { ...process.env, SCRIPT: script },
    }),
  );
  await waitHealthy(`http://127.0.0.1:${fastPort}/health`);

  const routerDir = join(work, "models");
  mkdirSync(routerDir);
  writeFileSync(join(routerDir, "tiny.gguf"), readFileSync(model));
  const routerPort = await freePort();
  children.push(
    spawn(
      llamaServer(),
      ["--models-dir", routerDir, "--host", "127.0.0.1", "--port", String(routerPort), ...llamaArgs],
      { stdio: "ignore" },
    ),
  );
  await waitHealthy(`http://127.0.0.1:${routerPort}/health`);

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
  const rig = `http://127.0.0.1:${gatewayPort}/v1/chat/completions`;

  // Warm every path once (the router loads its model on first use).
  await stream(`http://127.0.0.1:${directPort}/v1/chat/completions`, "tiny");
  await stream(rig, "tiny");
  await stream(rig, "fast");
  const routerUrl = `http://127.0.0.1:${routerPort}/v1/chat/completions`;
  const routerWorks = await stream(routerUrl, "tiny").then(
    () => true,
    () => false,
  );

  const rows: string[] = [];
  let peakRss = 0;
  for (const concurrency of CONCURRENCY) {
    const runs: Record<string, Array<{ tokensPerSecond: number; ttfb: number[] }>> = {
      direct: [],
      rig: [],
      router: [],
      fastDirect: [],
      fastRig: [],
    };
    for (let round = 0; round < 2; round++) {
      runs.direct!.push(
        await load(`http://127.0.0.1:${directPort}/v1/chat/completions`, "tiny", concurrency),
      );
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(gatewayPid))), 50);
      runs.rig!.push(await load(rig, "tiny", concurrency));
      runs.fastRig!.push(await load(rig, "fast", concurrency));
      clearInterval(sampler);
      runs.fastDirect!.push(
        await load(`http://127.0.0.1:${fastPort}/v1/chat/completions`, "fast", concurrency),
      );
      if (routerWorks) runs.router!.push(await load(routerUrl, "tiny", concurrency));
    }
    const tps = (name: string) => Math.max(...runs[name]!.map((run) => run.tokensPerSecond));
    const ttfb = (name: string, p: number) =>
      percentile(
        runs[name]!.flatMap((run) => run.ttfb),
        p,
      );
    rows.push(
      `| ${concurrency} | ${tps("direct").toFixed(0)} | ${tps("rig").toFixed(0)} | **${(tps("rig") / tps("direct")).toFixed(3)}** | ` +
        `${routerWorks ? `${tps("router").toFixed(0)} (${(tps("router") / tps("direct")).toFixed(3)})` : "n/a"} | ` +
        `${(ttfb("rig", 50) - ttfb("direct", 50)).toFixed(2)} / ${(ttfb("rig", 99) - ttfb("direct", 99)).toFixed(2)} | ` +
        `${(tps("fastRig") / tps("fastDirect")).toFixed(3)} | ${(ttfb("fastRig", 50) - ttfb("fastDirect", 50)).toFixed(2)} / ${(ttfb("fastRig", 99) - ttfb("fastDirect", 99)).toFixed(2)} |`,
    );
  }
  console.log(`# Gateway overhead\n`);
  console.log(
    `Streamed chat completions of ${TOKENS} tokens, ${REQUESTS_PER_CLIENT} per client, best of 2 rounds; fresh connection per request.\n`,
  );
  console.log(
    "| concurrency | direct tok/s | rig tok/s | rig / direct | llama router tok/s (/ direct) | added TTFB p50 / p99 ms | fast upstream: rig / direct | fast: added TTFB p50 / p99 ms |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const row of rows) console.log(row);
  console.log(`\nGateway peak RSS during the runs (up to 32 streams): **${peakRss.toFixed(1)} MB**.`);
  console.log(
    `\n${new Date().toISOString().slice(0, 10)}, node ${process.version}, 2 cores; tiny model (random weights) on llama-server from node-llama-cpp 3.21.1.`,
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
