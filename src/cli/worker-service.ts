import { realpathSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { defineCommand } from "citty";
import { findRpcServer } from "../install/llama-cpp.ts";
import { type ServicePlan, servicePlan } from "../service/index.ts";
import { workerServiceName, workerServiceSpec } from "../service/spec.ts";
import { holderText, portHolder } from "../system/ports.ts";
import { shellLine } from "../system/shell.ts";
import { pc } from "./colors.ts";
import { jsonArg, printJson } from "./common.ts";
import {
  checkOwnership,
  dryRunArg,
  installService,
  onDisk,
  plannedFiles,
  removeService,
  runManager,
  serviceManager,
  shownFile,
} from "./service-files.ts";
import {
  DEFAULT_WORKER_PORT,
  listenArgs,
  type WorkerOptions,
  workerFlags,
  workerOptions,
  workerPort,
} from "./worker-options.ts";

// `rig worker install | uninstall | status`: `rig worker run` as a systemd user unit or launchd agent,
// one per port (rig-worker-<port>.service, rig.worker-<port>). A worker host may have no rig home, so
// nothing here loads a config: the options are the command line's, as for `rig worker run`.

const portArg = {
  port: { type: "string", description: `the worker's port (default ${DEFAULT_WORKER_PORT})` },
} as const;

/** The plan for a worker with these options, run by the node and rig script running now. */
function planFor(options: WorkerOptions & { insecureNetwork: boolean }): ServicePlan {
  const spec = workerServiceSpec({
    port: options.port,
    args: [...workerFlags(options), ...(options.insecureNetwork ? ["--insecure-network"] : [])],
    node: process.execPath,
    script: realpathSync(process.argv[1]!),
    // launchd's log (systemd keeps it in the journal): where macOS keeps a user's logs.
    logFile: join(homedir(), "Library", "Logs", `rig-${workerServiceName(options.port)}.log`),
    env: process.env,
  });
  return servicePlan(serviceManager("rig worker install", "rig worker run"), spec, process.env, homedir());
}

/** The plan uninstall and status compare against: only the port says which worker's file it is. */
function planForPort(port: number): ServicePlan {
  return planFor({ host: "127.0.0.1", port, cache: false, insecureNetwork: false });
}

/** Refuses to replace or remove a file rig did not write, or a gateway's service that has the worker's name. */
function checkWorkerOwnership(plan: ServicePlan, port: number): void {
  checkOwnership(plan, {
    pick: "pick another --port",
    other: `is the service of a rig home named ${workerServiceName(port)}, not a worker: pick another --port, or rename that one (rig service uninstall, then rig service install --name <name>)`,
  });
}

export const install = defineCommand({
  meta: {
    name: "install",
    description:
      "write a systemd user unit (Linux) or launchd agent (macOS) that runs `rig worker run` with these options and restarts it on failure",
  },
  args: { ...listenArgs, ...dryRunArg, ...jsonArg },
  run({ args }) {
    // The same refusal as `rig worker run`: a unit that would only fail at boot is worse than none.
    const options = workerOptions(args);
    const plan = planFor({ ...options, insecureNetwork: args["insecure-network"] });
    if (args["dry-run"]) {
      for (const file of plannedFiles(plan)) process.stdout.write(shownFile(file, pc.dim));
      return;
    }
    checkWorkerOwnership(plan, options.port);
    const rpcServer = findRpcServer() ?? null;
    // Who listens on the port (Linux tells): not a bind test, which fails too for an address that is
    // not up yet (a VPN's), and the service will start later.
    const holder = portHolder(options.port);
    installService(plan, {
      json: Boolean(args.json),
      facts: { rpc_server: rpcServer, port_taken_by: holder ?? null },
      notes: [
        ...(rpcServer
          ? []
          : [
              "rpc-server is neither on PATH nor in rig's cache: the service fails until `rig install llama.cpp --rpc` builds it",
            ]),
        ...(holder
          ? [
              `port ${options.port} is in use now by ${holderText(holder)}: the service fails until it is free (a \`rig worker run\` in a terminal? stop it first)`,
            ]
          : []),
      ],
    });
  },
});

export const uninstall = defineCommand({
  meta: {
    name: "uninstall",
    description: "stop the worker's service and remove the file rig worker install wrote",
  },
  args: { ...portArg, ...dryRunArg, ...jsonArg },
  async run({ args }) {
    const port = workerPort(args.port);
    const plan = planForPort(port);
    if (!onDisk(plan)) {
      if (args.json) return printJson({ removed: [] });
      process.stdout.write(`no rig worker service at ${plan.service.path}\n`);
      return;
    }
    checkWorkerOwnership(plan, port);
    removeService(plan, { dryRun: Boolean(args["dry-run"]), json: Boolean(args.json) });
  },
});

export const status = defineCommand({
  meta: {
    name: "status",
    description: "is the worker's service installed and running (exit 1 when not installed)",
  },
  args: { ...portArg, ...jsonArg },
  async run({ args }) {
    const plan = planForPort(workerPort(args.port));
    const existing = onDisk(plan);
    const installed = Boolean(existing?.ours && existing.same);
    const active = installed && runManager(plan.active).ok;
    if (!installed) process.exitCode = 1;
    if (args.json) return printJson({ manager: plan.manager, path: plan.service.path, installed, active });
    const state = !existing
      ? "not installed (rig worker install writes it)"
      : installed
        ? "installed"
        : "another file is there (rig worker install says whose)";
    process.stdout.write(
      [
        `${plan.manager} ${plan.service.path}: ${state}`,
        ...(installed
          ? [`service ${active ? pc.green("running") : "not running"}: ${shellLine(plan.enable)} starts it`]
          : []),
        "",
      ].join("\n"),
    );
  },
});
