import { spawn } from "node:child_process";
import { defineCommand } from "citty";
import { findRpcServer } from "../install/llama-cpp.ts";
import { answers } from "../supervisor/preflight.ts";
import { describeHolder, isPortFree } from "../system/ports.ts";
import { sleep } from "../system/process.ts";
import { pc } from "./colors.ts";
import { jsonArg, RigError, UsageError } from "./common.ts";

// `rig worker run`: llama.cpp's rpc-server on a host that lends its memory and compute to a llama-server
// elsewhere (that server's `rpc:` names this host in `workers:`). The RPC protocol has no authentication
// and no encryption: whoever reaches the port can make the worker allocate, read and write its memory.

export const DEFAULT_WORKER_PORT = 50052;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);
/** How long rpc-server has to start listening (it enumerates devices first). */
const LISTEN_MS = 30_000;

/** Why rig will not listen on `host`, or undefined when it may. */
export function bindRefusal(host: string, insecureNetwork: boolean): string | undefined {
  if (LOOPBACK.has(host) || insecureNetwork) return undefined;
  return `refusing to listen on ${host}: llama.cpp's rpc-server has no authentication and no encryption, so anyone who reaches ${host} can use this machine's memory and compute through it. On a network only you use (a private LAN, a VPN such as WireGuard or Tailscale) add --insecure-network; otherwise keep 127.0.0.1 and reach it through an SSH tunnel (ssh -L)`;
}

export interface WorkerOptions {
  host: string;
  port: number;
  device?: string;
  threads?: number;
  cache: boolean;
}

/** rpc-server's argv for these options. */
export function rpcServerArgv(executable: string, options: WorkerOptions): string[] {
  return [
    executable,
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

/** Waits until the worker accepts connections; false when it exited or took too long. */
async function listening(host: string, port: number, exited: () => boolean): Promise<boolean> {
  const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const deadline = Date.now() + LISTEN_MS;
  while (Date.now() < deadline && !exited()) {
    if (await answers(reachable, port, 500)) return true;
    await sleep(100);
  }
  return false;
}

const run = defineCommand({
  meta: {
    name: "run",
    description:
      "run llama.cpp's rpc-server in the foreground, so a llama-server on another host can split a model onto this one (Ctrl-C stops it)",
  },
  args: {
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
    ...jsonArg,
  },
  async run({ args }) {
    const refusal = bindRefusal(args.host, args["insecure-network"]);
    if (refusal) throw new UsageError(refusal);
    const threads = args.threads === undefined ? undefined : Number(args.threads);
    if (threads !== undefined && !(Number.isInteger(threads) && threads > 0))
      throw new UsageError(`--threads must be a positive whole number, not \`${args.threads}\``);
    const options: WorkerOptions = {
      host: args.host,
      port: args.port === undefined ? DEFAULT_WORKER_PORT : portOf(args.port),
      device: args.device,
      threads,
      cache: args.cache,
    };
    const executable = findRpcServer();
    if (!executable)
      throw new RigError(
        "rpc-server is neither on PATH nor in rig's cache: run `rig install llama.cpp --rpc` (it builds llama-server and rpc-server)",
      );
    const endpoint = `${options.host}:${options.port}`;
    // rpc-server says only "Failed to create server socket" and exits 0; and a port that already
    // answers would pass for this worker listening.
    if (!(await isPortFree(options.host, options.port)))
      throw new RigError(
        `${endpoint} is already in use by ${describeHolder(options.port)}: pick another --port`,
      );
    const argv = rpcServerArgv(executable, options);
    // Its output is the worker's log (devices, connections); rig's own lines go to stderr around it.
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", args.json ? "ignore" : "inherit", "inherit"],
    });
    let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let stopping = false;
    const exited = new Promise<void>((resolve) => {
      child.once("error", (error) => {
        ended = { code: 1, signal: null };
        process.stderr.write(`${pc.red("error:")} could not run ${executable}: ${error.message}\n`);
        resolve();
      });
      child.once("exit", (code, signal) => {
        ended = { code, signal };
        resolve();
      });
    });
    const stop = () => {
      stopping = true;
      if (!ended) child.kill("SIGTERM");
    };
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, stop);
    if (await listening(options.host, options.port, () => ended !== undefined)) {
      // One line: a foreground command's --json is a stream of events, read line by line.
      if (args.json)
        process.stdout.write(
          `${JSON.stringify({ listening: endpoint, pid: child.pid, executable, argv })}\n`,
        );
      else
        process.stderr.write(
          `${pc.green("worker listening")} on ${endpoint} (rpc-server pid ${child.pid}); name it in the head's rig.yaml as workers: { <name>: { host: <this host's address>, port: ${options.port} } }\n`,
        );
    } else if (!ended) {
      stop();
      await exited;
      throw new RigError(`rpc-server did not listen on ${endpoint} within ${LISTEN_MS / 1000}s`);
    }
    await exited;
    if (stopping) return;
    const how = ended?.signal ? `died by ${ended.signal}` : `exited with code ${ended?.code}`;
    throw new RigError(
      ended?.signal
        ? `rpc-server ${how}`
        : `rpc-server ${how} (its last lines above say why: a --device name it does not know?)`,
    );
  },
});

export default defineCommand({
  meta: {
    name: "worker",
    description:
      "lend this host to a llama.cpp server on another one (llama.cpp RPC; no authentication: trusted networks only)",
  },
  subCommands: { run },
});
