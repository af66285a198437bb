import { isLoopbackHost } from "../system/loopback.ts";
import { UsageError } from "./common.ts";

// What `rig worker run` and `rig worker install` both take and check: where and how rpc-server listens.

export const DEFAULT_WORKER_PORT = 50052;

/** Why rig will not listen on `host`, or undefined when it may. */
function bindRefusal(host: string, insecureNetwork: boolean): string | undefined {
  if (isLoopbackHost(host) || insecureNetwork) return undefined;
  return `refusing to listen on ${host}: llama.cpp's rpc-server has no authentication and no encryption, so anyone who reaches ${host} can use this machine's memory and compute through it. On a network only you use (a private LAN, a VPN such as WireGuard or Tailscale) add --insecure-network; otherwise keep 127.0.0.1 and reach it through an SSH tunnel (ssh -L)`;
}

export interface WorkerOptions {
  host: string;
  port: number;
  device?: string;
  threads?: number;
  cache: boolean;
}

/** The options as flags: rpc-server's own, which `rig worker run` takes by the same names. */
export function workerFlags(options: WorkerOptions): string[] {
  return [
    "--host",
    options.host,
    "--port",
    String(options.port),
    ...(options.device ? ["--device", options.device] : []),
    ...(options.threads ? ["--threads", String(options.threads)] : []),
    ...(options.cache ? ["--cache"] : []),
  ];
}

function portOf(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new UsageError(`--port must be a port number (1-65535), not \`${text}\``);
  return port;
}

/** What `rig worker run` and `rig worker install` both take: where and how rpc-server listens. */
export const listenArgs = {
  host: {
    type: "string",
    description: "address to listen on (default 127.0.0.1; others need --insecure-network)",
    default: "127.0.0.1",
  },
  port: { type: "string", description: `port to listen on (default ${DEFAULT_WORKER_PORT})` },
  device: {
    type: "string",
    description:
      "the devices to lend, as rpc-server names them (e.g. CUDA0,CUDA1); default: all GPUs, else the CPU",
  },
  threads: { type: "string", description: "CPU threads (rpc-server's default: half the cores)" },
  cache: {
    type: "boolean",
    description: "keep received tensors in a local file cache, so the next load sends less",
    default: false,
  },
  "insecure-network": {
    type: "boolean",
    description:
      "listen beyond loopback although rpc-server has no authentication (only on a network you trust)",
    default: false,
  },
} as const;

/** `--port` as a number: the default worker port when not given. */
export function workerPort(text: string | undefined): number {
  return text === undefined ? DEFAULT_WORKER_PORT : portOf(text);
}

/** The options `listenArgs` give, checked: a refused host or a malformed number is a usage error. */
export function workerOptions(args: {
  host: string;
  port?: string;
  device?: string;
  threads?: string;
  cache: boolean;
  "insecure-network": boolean;
}): WorkerOptions {
  const refusal = bindRefusal(args.host, args["insecure-network"]);
  if (refusal) throw new UsageError(refusal);
  const threads = args.threads === undefined ? undefined : Number(args.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0))
    throw new UsageError(`--threads must be a positive whole number, not \`${args.threads}\``);
  return {
    host: args.host,
    port: workerPort(args.port),
    device: args.device,
    threads,
    cache: args.cache,
  };
}
