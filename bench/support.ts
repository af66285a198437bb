// What the benchmarks share: starting the services under test, streaming requests at them, and
// interleaving the paths so drift on a busy machine hits them alike.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { sleep } from "../src/system/process.ts";

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
            : reject(new Error(`${target.url}: status ${res.statusCode}`)),
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

/** Tokens per second of `concurrency` clients each streaming `requests` answers of `maxTokens`. */
export async function load(
  target: Target,
  concurrency: number,
  requests: number,
  maxTokens: number,
): Promise<number> {
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
  return tokens / ((performance.now() - started) / 1000);
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

export const percentile = (values: number[], p: number) => {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

export const median = (values: number[]) => percentile(values, 50);

/** The median over rounds of each round's ratio to `baseline`: drift between rounds cancels. */
export function roundRatio(results: Record<string, number[]>, name: string, baseline = "direct"): string {
  return median(results[name]!.map((value, round) => value / results[baseline]![round]!)).toFixed(3);
}

export function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
