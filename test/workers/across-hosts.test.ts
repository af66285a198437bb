// What `rig ps` and `rig explain` show of one model across hosts, decided from the config alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { acrossHosts, acrossHostsLines, workerRows, workerTable } from "../../src/cli/across-hosts.ts";
import { loadConfig } from "../../src/config/loader.ts";

const config = await loadConfig({
  home: "/nonexistent/rig-across-hosts-cli",
  env: { HOME: "/nonexistent", NO_COLOR: "1" },
  text: `
workers:
  w1: { host: 10.0.0.2 }
  w2: { host: 10.0.0.3, port: 50099 }
  spare: { host: 10.0.0.4 }
servers:
  split: { runtime: llama.cpp, model: /models/big.gguf, rpc: [w1, w2] }
  also: { runtime: llama.cpp, model: /models/big.gguf, rpc: [w2] }
  cluster: { runtime: vllm, model: Qwen/Qwen3-32B, nodes: [{ host: 10.0.0.10, gpus: 2 }, { host: 10.0.0.11, gpus: 2 }] }
  alone: { runtime: llama.cpp, model: /models/big.gguf }
`,
});

test("rig ps: every worker with whether it answered and the servers split onto it", () => {
  const rows = workerRows(config, new Set(["w1"]));
  assert.deepEqual(rows, [
    { name: "w1", state: "reachable", host: "10.0.0.2", port: 50052, servers: ["split"] },
    { name: "w2", state: "unreachable", host: "10.0.0.3", port: 50099, servers: ["split", "also"] },
    { name: "spare", state: "unreachable", host: "10.0.0.4", port: 50052, servers: [] },
  ]);
  const text = workerTable(rows);
  assert.match(text, /w2\s+unreachable\s+10\.0\.0\.3:50099\s+split, also/);
  assert.match(text, /start a worker with `rig worker run` on its host/);
});

test("rig explain: a split server names its workers; a multi-node one prints each node's commands", () => {
  assert.deepEqual(acrossHosts(config, config.servers.split!)?.workers, [
    { name: "w1", endpoint: "10.0.0.2:50052" },
    { name: "w2", endpoint: "10.0.0.3:50099" },
  ]);
  assert.equal(acrossHosts(config, config.servers.alone!), null);
  const lines = acrossHostsLines(acrossHosts(config, config.servers.cluster!)).join("\n");
  assert.match(
    lines,
    /node 0 +10\.0\.0\.10 \(head\)\n +ray start --head --port 6379 --node-ip-address 10\.0\.0\.10 --num-gpus 2\n +vllm serve Qwen\/Qwen3-32B .*--tensor-parallel-size 2 --pipeline-parallel-size 2 --distributed-executor-backend ray/,
  );
  assert.match(
    lines,
    /node 1 +10\.0\.0\.11 \(worker\)\n +ray start --address 10\.0\.0\.10:6379 --node-ip-address 10\.0\.0\.11 --num-gpus 2 --block/,
  );
});
