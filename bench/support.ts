// What the benchmarks share: starting the services under test, streaming requests at them, and
// interleaving the paths so drift on a busy machine hits them alike.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, percentile, roundRatios } from "../src/bench/stats.ts";
import { freePort } from "../src/system/ports.ts";
import { sleep } from "../src/system/process.ts";
import { llamaServer } from "../test/support/llama.ts";

export { median, percentile } from "../src/bench/stats.ts";

const children: ChildProcess[] = [];
const stops: Array<() => void> = [];
const MAIN = fileURLToPath(new URL("../dist/main.mjs", import.meta.url));

/** Starts a service and waits until `ready` answers (any HTTP answer when `anyStatus`). */
export async function startService(
  argv: string[],
  ready: string,
  options: { env?: NodeJS.ProcessEnv; anyStatus?: boolean } = {},
): Promise<ChildProcess> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: "ignore", env: { ...process.env, ...options.env } });
  children.push(child);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await fetch(ready).then(
      (response) => options.anyStatus || response.ok,
      () => false,
    );
    if (ok) return child;
    await sleep(100);
  }
  throw new Error(`${argv.join(" ")}: ${ready} never answered`);
}

/** llama-server with `args` on a free loopback port, once it answers; its port. */
export async function startLlama(args: string[]): Promise<number> {
  const port = await freePort();
  await startService(
    [llamaServer(), ...args, "--host", "127.0.0.1", "--port", String(port)],
    `http://127.0.0.1:${port}/health`,
  );
  return port;
}

const MINIMAL_PROXY = fileURLToPath(new URL("./minimal-proxy.mjs", import.meta.url));

/** The bare node:http + undici hop (minimal-proxy.mjs) in front of `upstream`: its port and process id. */
export async function startBareHop(upstream: number): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const child = await startService(
    [process.execPath, MINIMAL_PROXY, String(port), `http://127.0.0.1:${upstream}`],
    `http://127.0.0.1:${port}/health`,
  );
  return { port, pid: child.pid! };
}

/**
 * nginx as a reverse proxy in front of `upstream` (the floor reference: a C process hop), run as a
 * child with its own prefix and config, never as a system service: one worker, no buffering, as one
 * would configure it in front of an SSE API. Debian: `apt-get install nginx-light`. Upstream keep-alive
 * only where the upstream keeps connections: llama-server closes one after every stream, and nginx
 * never retries a POST on another connection (rig does, once, before any byte), so a reused one is a 502.
 */
export async function startNginx(
  upstream: number,
  keepAlive: boolean,
): Promise<{ port: number; pid: number }> {
  const prefix = mkdtempSync(join(tmpdir(), "rig-bench-nginx-"));
  mkdirSync(join(prefix, "logs"));
  const port = await freePort();
  const config = join(prefix, "nginx.conf");
  const temp = (name: string) => `${name} ${join(prefix, name)};`;
  writeFileSync(
    config,
    `daemon off;
master_process off;
worker_processes 1;
pid ${join(prefix, "nginx.pid")};
error_log ${join(prefix, "logs", "error.log")} warn;
events { worker_connections 1024; }
http {
  access_log off;
  ${["client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path"].map(temp).join("\n  ")}
  upstream backend { server 127.0.0.1:${upstream};${keepAlive ? " keepalive 64;" : ""} }
  server {
    listen 127.0.0.1:${port};
    location = /health { return 200 "ok"; }
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`,
  );
  const child = await startService(
    ["nginx", "-p", prefix, "-e", join(prefix, "logs", "error.log"), "-c", config],
    `http://127.0.0.1:${port}/health`,
  );
  return { port, pid: child.pid! };
}

/**
 * CPU seconds a process (all its threads) has used: the sum of its threads' run time from
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds), else utime + stime from /proc/<pid>/stat, which the
 * kernel counts in 10 ms ticks, too coarse for the few hundred milliseconds a proxy spends in a run.
 */
export function cpuSeconds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).reduce(
      (sum, task) =>
        sum + Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]) / 1e9,
      0,
    );
  } catch {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  }
}

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** Starts rig's gateway daemon for a home (stopped when the benchmark ends); returns its pid. */
export function startRigGateway(home: string): number {
  const started = spawnSync(process.execPath, [MAIN, "gateway", "start", "--json", "--home", home], {
    encoding: "utf8",
  });
  stops.push(() => spawnSync(process.execPath, [MAIN, "gateway", "stop", "--home", home]));
  return (JSON.parse(started.stdout) as { pid: number }).pid;
}

/** Runs a benchmark's main, then stops everything it started, whether it finished or failed. */
export function runBenchmark(main: () => Promise<void>): void {
  main()
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(() => {
      for (const stop of stops) stop();
      for (const child of children) child.kill("SIGTERM");
    });
}

export interface Target {
  url: string;
  /** The request body for an answer of `maxTokens`. */
  body: (maxTokens: number) => unknown;
  /** Whether one SSE data line carries a generated token. */
  isToken: (line: string) => boolean;
  /** A new connection per request: llama-server closes its connection after every stream. */
  fresh: boolean;
  headers?: Record<string, string>;
  /**
   * Set for a peer rig does not control: its failed requests are kept here and count as no sample,
   * instead of ending the benchmark (claude-code-router answers 500 when its own upstream connection
   * was closed under it).
   */
  failures?: string[];
}

const prompt = [{ role: "user", content: "Say something." }];

export function chatTarget(port: number, model: string, fresh: boolean): Target {
  return {
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    body: (maxTokens) => ({ model, stream: true, max_tokens: maxTokens, messages: prompt }),
    isToken: (line) => line.includes('"content":"'),
    fresh,
  };
}

export function messagesTarget(port: number, model: string, fresh: boolean): Target {
  return {
    url: `http://127.0.0.1:${port}/v1/messages`,
    body: (maxTokens) => ({ model, stream: true, max_tokens: maxTokens, messages: prompt }),
    isToken: (line) => line.includes('"type":"text_delta"'),
    fresh,
    headers: { "x-api-key": "bench", "anthropic-version": "2023-06-01" },
  };
}

// Agents and the official SDKs keep connections alive; so does this client where the server allows.
const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

export interface Sample {
  ttfbMs: number;
  tokens: number;
}

/** One streamed answer: time to the first token, tokens counted. */
export function stream(target: Target, maxTokens: number): Promise<Sample> {
  const attempt = streamOnce(target, maxTokens);
  const { failures } = target;
  if (!failures) return attempt;
  return attempt.catch((error: Error) => {
    failures.push(error.message);
    return { ttfbMs: Number.NaN, tokens: 0 };
  });
}

function streamOnce(target: Target, maxTokens: number): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(target.body(maxTokens));
    const started = performance.now();
    let ttfb: number | undefined;
    let tokens = 0;
    let buffered = "";
    const req = request(
      target.url,
      {
        method: "POST",
        agent: target.fresh ? false : keepAlive,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...target.headers,
        },
      },
      (res) => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (res.statusCode !== 200) {
            buffered = (buffered + chunk).slice(0, 500);
            return;
          }
          buffered += chunk;
          const lines = buffered.split("\n");
          buffered = lines.pop() ?? "";
          for (const line of lines) {
            if (!line.startsWith("data: {") || !target.isToken(line)) continue;
            ttfb ??= performance.now() - started;
            tokens++;
          }
        });
        res.on("end", () =>
          res.statusCode === 200
            ? resolve({ ttfbMs: ttfb ?? Number.NaN, tokens })
            : reject(new Error(`${target.url}: status ${res.statusCode}: ${buffered}`)),
        );
        res.on("error", reject);
      },
    );
    req.on("error", (error) =>
      reject(
        new Error(`${target.url} (${target.fresh ? "new connection" : "keep-alive"}): ${error.message}`),
      ),
    );
    req.end(body);
  });
}

/** Tokens streamed by `concurrency` clients each streaming `requests` answers of `maxTokens`, and the time it took. */
export async function loadRun(
  target: Target,
  concurrency: number,
  requests: number,
  maxTokens: number,
): Promise<{ tokens: number; seconds: number }> {
  const started = performance.now();
  let tokens = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < requests; i++) {
        // Awaited first: `tokens += await …` would read `tokens` before the wait and lose other clients' counts.
        const sample = await stream(target, maxTokens);
        tokens += sample.tokens;
      }
    }),
  );
  return { tokens, seconds: (performance.now() - started) / 1000 };
}

/** Tokens per second of `concurrency` clients each streaming `requests` answers of `maxTokens`. */
export async function load(
  target: Target,
  concurrency: number,
  requests: number,
  maxTokens: number,
): Promise<number> {
  const { tokens, seconds } = await loadRun(target, concurrency, requests, maxTokens);
  return tokens / seconds;
}

/** Each path's runs, interleaved round by round in a rotating order. */
export async function interleaved<T>(
  targets: Record<string, Target>,
  rounds: number,
  run: (target: Target) => Promise<T>,
): Promise<Record<string, T[]>> {
  const names = Object.keys(targets);
  const results: Record<string, T[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      results[name]!.push(await run(targets[name]!));
    }
  }
  return results;
}

/** The median over rounds of each round's ratio to `baseline`: drift between rounds cancels. */
export function roundRatio(results: Record<string, number[]>, name: string, baseline = "direct"): string {
  return roundRatios(results[name]!, results[baseline]!).ratio.toFixed(3);
}

/** The same, with the range the rounds spread over: `0.952 (0.91–0.98)`. */
export function roundRatioSpread(
  results: Record<string, number[]>,
  name: string,
  baseline = "direct",
): string {
  const { ratio, spread } = roundRatios(results[name]!, results[baseline]!);
  return `${ratio.toFixed(2)} (${spread[0].toFixed(2)}–${spread[1].toFixed(2)})`;
}

export function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** A markdown table of each path's time over `direct`'s (p50 / p90), beside direct's own p50. */
export function addedTimeTable(samples: Record<string, number[]>): string {
  const names = Object.keys(samples).filter((name) => name !== "direct");
  const added = (name: string, p: number) =>
    (percentile(samples[name]!, p) - percentile(samples.direct!, p)).toFixed(2);
  return [
    `| direct p50 | ${names.join(" | ")} |`,
    `|---|${names.map(() => "---").join("|")}|`,
    `| ${median(samples.direct!).toFixed(2)} | ${names.map((name) => `${added(name, 50)} / ${added(name, 90)}`).join(" | ")} |`,
  ].join("\n");
}
