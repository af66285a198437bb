// One model across hosts, on real hosts made on one machine: two `rig worker run` (rpc-server) hosts
// and a head running the gateway, each in its own network namespace. The tiny model, split across the
// workers, answers a streamed request through the gateway; a worker that dies gives the client an error
// in its dialect, never a hang; and the next start names the worker that is down.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { cachedLlamaServer } from "../../src/install/llama-cpp.ts";
import { settlesWithin } from "../../src/system/process.ts";
import { RIG_MAIN } from "../support/cli.ts";
import { makeHome, type TestHome } from "../support/home.ts";
import { firstLine } from "../support/lines.ts";
import { rpcServer, tinyModel } from "../support/llama.ts";
import { type Host, makeNetwork, type Network, namespacesUnavailable } from "../support/netns.ts";

const CLIENT = fileURLToPath(new URL("./stream-client.mjs", import.meta.url));
/** The longest any one step may take: a split load, a stream, a failure's notice. */
const BOUND_MS = 60_000;

interface StreamResult {
  status: number;
  tokens: number;
  seconds: number;
  done: boolean;
  errorEvent: { type?: string; message?: string } | null;
  body: string;
  failure: string | null;
  elapsedMs: number;
}

const unavailable = namespacesUnavailable();

describe("one model split across two rpc-server hosts", { skip: unavailable }, () => {
  let network: Network;
  let head: Host;
  let home: TestHome;
  const workers: Array<{ host: Host; child: ChildProcess; rpcPid: number }> = [];

  /** Runs the built CLI inside the head's namespace, as a person logged in there would. */
  const rigOnHead = (args: string[]) =>
    network.run(head, [process.execPath, RIG_MAIN, ...args], {
      env: { ...process.env, RIG_HOME: home.root, NO_COLOR: "1" },
      timeoutMs: BOUND_MS * 2,
    });

  /** Each worker's state as `rig ps --json` on the head shows it. */
  const workerStates = () => {
    const ps = rigOnHead(["ps", "--json"]);
    assert.equal(ps.status, 0, ps.stderr);
    const rows = JSON.parse(ps.stdout) as Array<{ name: string; runtime: string; state: string }>;
    return Object.fromEntries(
      rows.filter((row) => row.runtime === "rpc-server").map((row) => [row.name, row.state]),
    );
  };

  /** Streams one request from inside the head, resolving with the client's report. */
  const stream = (path: string, model: string, maxTokens: number, onFirst?: () => void) => {
    const client = network.spawn(
      head,
      [process.execPath, CLIENT, `${home.url}${path}`, model, String(maxTokens), String(BOUND_MS)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    return new Promise<StreamResult>((resolve, reject) => {
      const reader = createInterface({ input: client.stdout! });
      reader.on("line", (line) => {
        const parsed = JSON.parse(line);
        if (parsed.first) onFirst?.();
        else resolve(parsed as StreamResult);
      });
      client.once("exit", (code) => reject(new Error(`the client exited (${code}) without a report`)));
    });
  };

  before(async () => {
    rpcServer();
    const llamaServer = cachedLlamaServer({ backend: "cpu", rpc: true });
    assert.ok(llamaServer, "the tests install llama.cpp with --rpc");
    network = makeNetwork(3);
    [head] = network.hosts as [Host];
    for (const host of network.hosts.slice(1)) {
      const child = network.spawn(
        host,
        [process.execPath, RIG_MAIN, "worker", "run", "--host", host.address, "--insecure-network", "--json"],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      const ready = JSON.parse(await firstLine(child.stdout!, BOUND_MS)) as {
        listening: string;
        pid: number;
      };
      assert.equal(ready.listening, `${host.address}:50052`);
      workers.push({ host, child, rpcPid: ready.pid });
    }
    const model = await tinyModel();
    const server = (name: string, extra: string) =>
      [
        `  ${name}:`,
        "    runtime: llama.cpp",
        `    model: ${JSON.stringify(model)}`,
        "    context: 2048",
        "    args: [--threads, 1, --parallel, 1]",
        ...(extra ? [`    ${extra}`] : []),
      ].join("\n");
    home = await makeHome(
      [
        "workers:",
        ...workers.map((worker, index) => `  w${index + 1}: { host: ${worker.host.address} }`),
        "runtimes:",
        `  llama.cpp: { command: ${JSON.stringify(llamaServer)} }`,
        "servers:",
        server("split", "rpc: [w1, w2]"),
        server("local", ""),
        "",
      ].join("\n"),
    );
    const started = rigOnHead(["gateway", "start"]);
    assert.equal(started.status, 0, started.stderr);
  });

  after(async () => {
    if (home) {
      rigOnHead(["gateway", "stop"]);
      await home.cleanup();
    }
    // As a person stops a worker (Ctrl-C): `rig worker run` stops its rpc-server before it exits.
    for (const { child } of workers)
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await settlesWithin(once(child, "exit"), 10_000);
      }
    network?.close();
  });

  test("the split model answers a streamed chat through the gateway; tokens/s beside the same model run locally", async () => {
    assert.deepEqual(workerStates(), { w1: "reachable", w2: "reachable" });
    const serve = rigOnHead(["serve", "split"]);
    assert.equal(serve.status, 0, serve.stderr + serve.stdout);
    const log = network.run(head, ["cat", `${home.root}/logs/split.log`]).stdout;
    assert.match(log, /--rpc \S+:50052,\S+:50052/);
    const split = await stream("/v1/chat/completions", "split", 128);
    assert.equal(split.status, 200, split.body);
    assert.equal(split.done, true, JSON.stringify(split));
    assert.ok(split.tokens > 16, `tokens streamed: ${split.tokens}`);
    const serveLocal = rigOnHead(["serve", "local"]);
    assert.equal(serveLocal.status, 0, serveLocal.stderr);
    const local = await stream("/v1/chat/completions", "local", 128);
    assert.equal(local.done, true);
    const rate = (result: StreamResult) => (result.tokens / result.seconds).toFixed(1);
    console.log(
      `tokens/s, one stream of 128 on the tiny model: split across 2 rpc-server hosts ${rate(split)}, local ${rate(local)}`,
    );
  });

  test("a worker killed mid-stream: the client gets an error in its dialect (Anthropic here) within the bound", async () => {
    const victim = workers[1]!;
    const result = await stream("/v1/messages", "split", 100_000, () =>
      process.kill(victim.rpcPid, "SIGKILL"),
    );
    assert.ok(result.elapsedMs < BOUND_MS, `no hang: ${result.elapsedMs} ms`);
    assert.equal(result.failure, null, "the stream ended rather than being cut");
    assert.equal(result.done, false);
    assert.equal(result.errorEvent?.type, "api_error", JSON.stringify(result));
    console.log(`the client was told: ${result.errorEvent?.message}`);
    const log = network.run(head, ["tail", "-n", "15", `${home.root}/logs/split.log`]).stdout;
    assert.match(result.errorEvent?.message ?? "", /rpc-server worker went away/, log);
  });

  test("the next request starts the server again, and the start names the worker that is down", async () => {
    const { child } = workers[1]!;
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
    assert.deepEqual(workerStates(), { w1: "reachable", w2: "unreachable" });
    const result = await stream("/v1/chat/completions", "split", 16);
    assert.ok(result.elapsedMs < BOUND_MS, `no hang: ${result.elapsedMs} ms`);
    assert.notEqual(result.status, 200);
    const error = JSON.parse(result.body).error as { message: string };
    assert.match(
      error.message,
      /worker w2 \(\S+:50052\) does not answer: start it with `rig worker run` on that host/,
    );
  });
});
