// One model across hosts, as rig.yaml writes it and as the runtimes get it: llama.cpp's --rpc and
// --tensor-split from `rpc:` and `tensor_split:`, and vLLM's multi-node plan from `nodes:`. Golden argv.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Config, loadConfig } from "../../src/config/loader.ts";
import { launchPlan } from "../../src/runtimes/plan.ts";

const config: Config = await loadConfig({
  home: "/nonexistent/rig-across-hosts",
  env: { HOME: "/nonexistent" },
  text: `
workers:
  w1: { host: 10.0.0.2 }
  w2: { host: 10.0.0.3, port: 50099 }
servers:
  split:
    runtime: llama.cpp
    model: /models/big.gguf
    port: 8081
    rpc: [w2, w1]
    tensor_split: [2, 1, 1]
    args: [--n-gpu-layers, 99]
  pinned:
    runtime: llama.cpp
    model: /models/big.gguf
    port: 8082
    rpc: [w1]
    args: [--rpc, "192.168.1.9:50052", -ts, "3,1", -a, big]
  alone:
    runtime: llama.cpp
    model: /models/big.gguf
    port: 8083
  cluster:
    runtime: vllm
    model: Qwen/Qwen3-32B
    port: 8000
    context: 32768
    nodes:
      - { host: 10.0.0.10, gpus: 4 }
      - { host: 10.0.0.11, gpus: 4 }
      - { host: 10.0.0.12, gpus: 2 }
  cluster_tuned:
    runtime: vllm
    model: Qwen/Qwen3-32B
    port: 8001
    nodes: [{ host: 10.0.0.10 }, { host: 10.0.0.11 }]
    args: [--tensor-parallel-size, "2"]
  single:
    runtime: vllm
    model: Qwen/Qwen3-32B
    port: 8002
`,
});

const argvOf = (name: string) => launchPlan(config, config.servers[name]!).process!.argv;

describe("llama.cpp split across rpc-server workers", () => {
  test("rpc: renders --rpc host:port in the profile's order (default port 50052), tensor_split: --tensor-split", () => {
    assert.deepEqual(argvOf("split"), [
      "llama-server",
      "-m",
      "/models/big.gguf",
      "--host",
      "127.0.0.1",
      "--port",
      "8081",
      "--alias",
      "split",
      "--rpc",
      "10.0.0.3:50099,10.0.0.2:50052",
      "--tensor-split",
      "2,1,1",
      "--n-gpu-layers",
      "99",
    ]);
  });

  test("flags the profile's args already set win: nothing is added twice", () => {
    assert.deepEqual(argvOf("pinned"), [
      "llama-server",
      "-m",
      "/models/big.gguf",
      "--host",
      "127.0.0.1",
      "--port",
      "8082",
      "--rpc",
      "192.168.1.9:50052",
      "-ts",
      "3,1",
      "-a",
      "big",
    ]);
  });

  test("a split launch leaves out ggml's backtrace, which would bury the line naming the lost worker", () => {
    assert.equal(launchPlan(config, config.servers.split!).process!.env.GGML_NO_BACKTRACE, "1");
    assert.equal(launchPlan(config, config.servers.alone!).process!.env.GGML_NO_BACKTRACE, undefined);
  });

  test("a server without rpc: runs alone", () => {
    assert.deepEqual(argvOf("alone"), [
      "llama-server",
      "-m",
      "/models/big.gguf",
      "--host",
      "127.0.0.1",
      "--port",
      "8083",
      "--alias",
      "alone",
    ]);
  });

  test("a worker that goes away is explained in rig's terms", () => {
    const { adapter } = launchPlan(config, config.servers.split!);
    const hint = adapter.failureHints.find((candidate) =>
      candidate.pattern.test("ggml-rpc.cpp:354: Remote RPC server crashed or returned malformed response"),
    );
    assert.match(hint?.message ?? "", /rpc-server worker went away.*rig worker run/);
  });
});

describe("vLLM across nodes", () => {
  test("the head serves with tensor parallelism inside a node and pipeline parallelism across nodes, on Ray", () => {
    assert.deepEqual(argvOf("cluster"), [
      "vllm",
      "serve",
      "Qwen/Qwen3-32B",
      "--host",
      "127.0.0.1",
      "--port",
      "8000",
      "--served-model-name",
      "cluster",
      "--max-model-len",
      "32768",
      "--tensor-parallel-size",
      "2",
      "--pipeline-parallel-size",
      "3",
      "--distributed-executor-backend",
      "ray",
    ]);
  });

  test("each node's commands: Ray head then the server on nodes[0], Ray joining it on the rest", () => {
    const plan = launchPlan(config, config.servers.cluster!);
    const nodes = plan.adapter.nodeCommands?.(plan.input);
    assert.deepEqual(
      nodes?.map((node) => ({ host: node.host, role: node.role, commands: node.commands })),
      [
        {
          host: "10.0.0.10",
          role: "head",
          commands: [
            ["ray", "start", "--head", "--port", "6379", "--node-ip-address", "10.0.0.10", "--num-gpus", "4"],
            plan.process!.argv,
          ],
        },
        {
          host: "10.0.0.11",
          role: "worker",
          commands: [
            [
              "ray",
              "start",
              "--address",
              "10.0.0.10:6379",
              "--node-ip-address",
              "10.0.0.11",
              "--num-gpus",
              "4",
              "--block",
            ],
          ],
        },
        {
          host: "10.0.0.12",
          role: "worker",
          commands: [
            [
              "ray",
              "start",
              "--address",
              "10.0.0.10:6379",
              "--node-ip-address",
              "10.0.0.12",
              "--num-gpus",
              "2",
              "--block",
            ],
          ],
        },
      ],
    );
    assert.ok(
      nodes?.[0]?.notes.some((note) => /different GPU counts: each uses 2/.test(note)),
      "uneven nodes are told how many GPUs each uses",
    );
  });

  test("a parallelism flag in args wins; gpus defaults to 1 per node", () => {
    const argv = argvOf("cluster_tuned");
    assert.deepEqual(argv.slice(-6), [
      "--pipeline-parallel-size",
      "2",
      "--distributed-executor-backend",
      "ray",
      "--tensor-parallel-size",
      "2",
    ]);
    assert.equal(argv.filter((word) => word === "--tensor-parallel-size").length, 1);
  });

  test("a server without nodes: has no plan and no parallel flags", () => {
    const plan = launchPlan(config, config.servers.single!);
    assert.equal(plan.adapter.nodeCommands?.(plan.input), undefined);
    assert.ok(!plan.process!.argv.some((word) => word.includes("parallel")));
  });
});
