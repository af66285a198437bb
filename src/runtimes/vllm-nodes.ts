import { hasFlag } from "./args.ts";
import type { ClusterNode, LaunchInput, NodeCommands } from "./types.ts";

// vLLM across hosts, as its docs set it up: a Ray cluster (`ray start --head` on the head, `ray start
// --address` on the others), then `vllm serve` on the head with tensor parallelism inside each node and
// pipeline parallelism across them. rig cannot run vLLM here, so it renders the plan (`rig explain`).

/** The port the head's Ray listens on, which the other nodes join. */
export const RAY_PORT = 6379;

/** Tensor parallelism is per node and must be the same on each, so nodes with more GPUs use only as many as the smallest. */
function gpusPerNode(nodes: readonly ClusterNode[]): number {
  return Math.min(...nodes.map((node) => node.gpus));
}

/** The flags that spread `vllm serve` over the nodes, unless the profile's args already set them. */
export function parallelArgs(input: LaunchInput): string[] {
  const nodes = input.nodes ?? [];
  if (!nodes.length) return [];
  const flags: Array<[string, string]> = [
    ["--tensor-parallel-size", String(gpusPerNode(nodes))],
    ["--pipeline-parallel-size", String(nodes.length)],
    ["--distributed-executor-backend", "ray"],
  ];
  return flags.flatMap(([flag, value]) => (hasFlag(input.args, flag) ? [] : [flag, value]));
}

/** What to run on each node, the head first: Ray on every node, then the server (`serveArgv`) on the head. */
export function vllmNodeCommands(nodes: readonly ClusterNode[], serveArgv: string[]): NodeCommands[] {
  const [head, ...others] = nodes;
  if (!head) return [];
  const perNode = gpusPerNode(nodes);
  const shared = [
    "the model must be at the same path on every node (or be a registry id each node can download)",
    "ray and vllm must be the same versions on every node",
  ];
  const uneven = nodes.some((node) => node.gpus !== perNode)
    ? [`nodes have different GPU counts: each uses ${perNode} (tensor parallelism is the same on every node)`]
    : [];
  const rayStart = (node: ClusterNode) => ["--node-ip-address", node.host, "--num-gpus", String(node.gpus)];
  return [
    {
      host: head.host,
      role: "head",
      commands: [["ray", "start", "--head", "--port", String(RAY_PORT), ...rayStart(head)], serveArgv],
      notes: [
        `start Ray here first, then on the other nodes; run the server once \`ray status\` shows ${nodes.length} node(s)`,
        ...uneven,
        ...shared,
      ],
    },
    ...others.map(
      (node): NodeCommands => ({
        host: node.host,
        role: "worker",
        commands: [["ray", "start", "--address", `${head.host}:${RAY_PORT}`, ...rayStart(node), "--block"]],
        notes: [`joins the head's Ray cluster at ${head.host}:${RAY_PORT}`],
      }),
    ),
  ];
}
