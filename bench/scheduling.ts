// Memory-aware scheduling: two servers that do not fit together, two clients alternating requests.
// Compares rig's grouped queue (a contended server takes a few more requests before the waiting batch
// has its turn) with plain first-come order (it takes none) and with an exclusive group as llama-swap
// configures one (`group:` with no memory budget: a server swaps in whenever asked). Counts swaps (starts
// after the first), total time and per-request latency p50/p95, on the real llama-server with the tiny
// model. The supervisor runs in-process, as the daemon runs it; requests go straight to the leased
// server. Strategies are interleaved round by round in a rotating order. Writes markdown to stdout.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config/loader.ts";
import { BATCH_EXTRA_REQUESTS, type SchedulerOptions } from "../src/supervisor/scheduler.ts";
import { Supervisor } from "../src/supervisor/supervisor.ts";
import { sleep } from "../src/system/process.ts";
import { llamaServer, tinyModel } from "../test/support/llama.ts";
import { median, percentile, runBenchmark } from "./support.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 3);
/** Requests each client sends in one run. */
const REQUESTS = Number(process.env.REQUESTS ?? 10);
const MAX_TOKENS = 16;
/** Paced workload: one request every PACE_MS, alternating between the two models. */
const PACE_MS = Number(process.env.PACE_MS ?? 300);

interface Strategy {
  name: string;
  /** rig.yaml for the two servers x and y. */
  yaml: string;
  options: SchedulerOptions;
}

interface Run {
  swaps: number;
  seconds: number;
  latencies: number[];
}

type Workload = (supervisor: Supervisor) => Promise<number[]>;

async function strategies(): Promise<Strategy[]> {
  const model = await tinyModel();
  const server = (name: string, extra: string) =>
    `  ${name}:\n    runtime: llama.cpp\n    model: ${JSON.stringify(model)}\n    context: 2048\n    args: [--threads, 1, --parallel, 2]\n${extra}`;
  const runtime = `runtimes:\n  llama.cpp: { command: ${JSON.stringify(llamaServer())} }\n`;
  // Each declares 1 GB in a 1.5 GB budget: one at a time.
  const budgeted = `${runtime}memory: { ram: 1.5GB }\nservers:\n${server("x", "    memory: 1GB\n")}${server("y", "    memory: 1GB\n")}`;
  const grouped = `${runtime}servers:\n${server("x", "    group: swap\n")}${server("y", "    group: swap\n")}`;
  return [
    { name: `rig grouped queue (${BATCH_EXTRA_REQUESTS} more per turn)`, yaml: budgeted, options: {} },
    { name: "first-come order", yaml: budgeted, options: { batchExtraRequests: 0 } },
    { name: "exclusive group (llama-swap)", yaml: grouped, options: {} },
  ];
}

/** One request as the gateway makes it: lease (starting the server if need be), answer, release. */
async function request(supervisor: Supervisor, name: string): Promise<number> {
  const started = performance.now();
  const { baseUrl } = await supervisor.lease(name);
  try {
    const response = await fetch(`${baseUrl}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", connection: "close" },
      body: JSON.stringify({ prompt: "Say something.", max_tokens: MAX_TOKENS }),
    });
    if (!response.ok) throw new Error(`${name}: status ${response.status}`);
    await response.arrayBuffer();
  } finally {
    supervisor.release(name);
  }
  return performance.now() - started;
}

/** Two agents, one per model, each sending its next request as soon as its answer is in. */
const closedLoop: Workload = async (supervisor) => {
  const client = async (name: string) => {
    const latencies: number[] = [];
    for (let turn = 0; turn < REQUESTS; turn++) latencies.push(await request(supervisor, name));
    return latencies;
  };
  return (await Promise.all([client("x"), client("y")])).flat();
};

/** Requests that arrive on their own clock, alternating x, y, x, …, whether or not answers are in. */
const paced: Workload = async (supervisor) => {
  const requests: Promise<number>[] = [];
  for (let index = 0; index < 2 * REQUESTS; index++) {
    requests.push(request(supervisor, index % 2 === 0 ? "x" : "y"));
    await sleep(PACE_MS);
  }
  return Promise.all(requests);
};

async function runOnce(strategy: Strategy, workload: Workload): Promise<Run> {
  const home = mkdtempSync(join(tmpdir(), "rig-bench-sched-"));
  writeFileSync(join(home, "rig.yaml"), strategy.yaml);
  const supervisor = new Supervisor(await loadConfig({ home }), undefined, strategy.options);
  let starts = 0;
  supervisor.on("state", (_name, state) => {
    if (state === "starting") starts++;
  });
  const started = performance.now();
  try {
    const latencies = await workload(supervisor);
    return { swaps: starts - 1, seconds: (performance.now() - started) / 1000, latencies };
  } finally {
    await supervisor.stopAll();
  }
}

function table(title: string, names: string[], runs: Record<string, Run[]>): string {
  const row = (name: string) => {
    const all = runs[name]!;
    const latencies = all.flatMap((run) => run.latencies);
    return `| ${name} | ${median(all.map((run) => run.swaps))} | ${median(all.map((run) => run.seconds)).toFixed(1)} | ${(percentile(latencies, 50) / 1000).toFixed(2)} | ${(percentile(latencies, 95) / 1000).toFixed(2)} |`;
  };
  const [grouped, firstCome] = names.map((name) => runs[name]!);
  const swaps =
    median(grouped!.map((run) => run.swaps)) / Math.max(1, median(firstCome!.map((run) => run.swaps)));
  const p95 = (list: Run[]) =>
    percentile(
      list.flatMap((run) => run.latencies),
      95,
    );
  const goal = swaps <= 0.5 && p95(grouped!) <= p95(firstCome!) * 1.05;
  return [
    `## ${title}`,
    "",
    "| strategy | swaps (median) | total s (median) | latency p50 s | latency p95 s |",
    "| --- | --- | --- | --- | --- |",
    ...names.map(row),
    "",
    `Grouped against first-come: ${swaps.toFixed(2)} of the swaps, p95 ${(p95(grouped!) / p95(firstCome!)).toFixed(2)}×: goal (≤ 0.5 of the swaps, p95 no worse within 5%) ${goal ? "met" : "not met"}.`,
    "",
  ].join("\n");
}

async function main() {
  const all = await strategies();
  const names = all.map((strategy) => strategy.name);
  const workloads: Array<[string, Workload]> = [
    [
      `Closed loop: two clients, one per model, ${REQUESTS} requests each, the next sent when the answer is in`,
      closedLoop,
    ],
    [`Paced: ${2 * REQUESTS} requests alternating x, y, one every ${PACE_MS} ms`, paced],
  ];
  const sections: string[] = [];
  for (const [title, workload] of workloads) {
    const runs: Record<string, Run[]> = Object.fromEntries(names.map((name) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (let index = 0; index < all.length; index++) {
        const strategy = all[(round + index) % all.length]!;
        process.stderr.write(`${title.split(":")[0]} round ${round + 1}: ${strategy.name}\n`);
        runs[strategy.name]!.push(await runOnce(strategy, workload));
      }
    }
    sections.push(table(title, names, runs));
  }
  process.stdout.write(
    [
      "# Scheduling two servers that do not fit together",
      "",
      `Strategies interleaved over ${ROUNDS} rounds in rotating order; latency percentiles over every request of every round. A swap is a start after the first. ${MAX_TOKENS}-token answers from the tiny model on llama-server (--threads 1); each start loads the model again.`,
      "",
      "The closed loop is how agents work: each sends its next turn as soon as its answer is in, so the model that just answered is asked again while the other model's request waits. The paced load sends requests on their own clock: while one model loads, requests for both pile up, and every strategy here serves all the requests waiting for one model with one start; a contended server taking a few more requests changes nothing there, because it is idle by the time its next request comes.",
      "",
      ...sections,
      `${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${(await import("node:os")).cpus().length} cores.`,
      "",
    ].join("\n"),
  );
}

runBenchmark(main);
