import { spawn } from "node:child_process";
import { defineCommand } from "citty";
import { findRpcServer } from "../install/llama-cpp.ts";
import { answers, describeHolder, listenError } from "../system/ports.ts";
import { sleep } from "../system/process.ts";
import { pc } from "./colors.ts";
import { jsonArg, RigError } from "./common.ts";
import { listenArgs, workerFlags, workerOptions } from "./worker-options.ts";

// `rig worker run`: llama.cpp's rpc-server on a host that lends its memory and compute to a llama-server
// elsewhere (that server's `rpc:` names this host in `workers:`). The RPC protocol has no authentication
// and no encryption: whoever reaches the port can make the worker allocate, read and write its memory.

/** How long rpc-server has to start listening (it enumerates devices first). */
const LISTEN_MS = 30_000;
/** How long a worker waits for its address to come up (a VPN or DHCP address at boot, under a service). */
const ADDRESS_WAIT_MS = 120_000;

/**
 * Throws unless rpc-server can listen on host:port. rpc-server says only "Failed to create server socket"
 * and exits 0; and a port that already answers would pass for this worker listening. An address this
 * machine does not have yet is waited for: at boot a service may start before its network is up.
 */
async function checkListenable(host: string, port: number): Promise<void> {
  const deadline = Date.now() + ADDRESS_WAIT_MS;
  let problem = await listenError(host, port);
  if (problem === "EADDRNOTAVAIL")
    process.stderr.write(
      `waiting up to ${ADDRESS_WAIT_MS / 1000}s for ${host} to be an address of this machine\n`,
    );
  while (problem === "EADDRNOTAVAIL" && Date.now() < deadline) {
    await sleep(1000);
    problem = await listenError(host, port);
  }
  if (problem === undefined) return;
  if (problem === "EADDRINUSE")
    throw new RigError(`${host}:${port} is already in use by ${describeHolder(port)}: pick another --port`);
  if (problem === "EADDRNOTAVAIL")
    throw new RigError(
      `${host} is not an address of this machine (after ${ADDRESS_WAIT_MS / 1000}s): pass one \`ip addr\` lists, or 127.0.0.1`,
    );
  throw new RigError(`cannot listen on ${host}:${port} (${problem})`);
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
  args: { ...listenArgs, ...jsonArg },
  async run({ args }) {
    const options = workerOptions(args);
    const executable = findRpcServer();
    if (!executable)
      throw new RigError(
        "rpc-server is neither on PATH nor in rig's cache: run `rig install llama.cpp --rpc` (it builds llama-server and rpc-server)",
      );
    const endpoint = `${options.host}:${options.port}`;
    await checkListenable(options.host, options.port);
    const argv = [executable, ...workerFlags(options)];
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
      "lend this host to a llama.cpp server on another one (llama.cpp RPC; no authentication: trusted networks only): run | install | uninstall | status",
  },
  subCommands: {
    run,
    // The service commands load only when used (they import the service renderers).
    install: () => import("./worker-service.ts").then((module) => module.install),
    uninstall: () => import("./worker-service.ts").then((module) => module.uninstall),
    status: () => import("./worker-service.ts").then((module) => module.status),
  },
});
