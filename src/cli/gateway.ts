import { defineCommand } from "citty";
import packageJson from "../../package.json" with { type: "json" };
import { homePaths } from "../config/home.ts";
import { ConfigError } from "../config/problems.ts";
import { gatewayUrl } from "../config/urls.ts";
import { isAlive, processStartTime, signalGroup, sleep } from "../system/process.ts";
import { pc } from "./colors.ts";
import {
  homeArg,
  jsonArg,
  loadOrExit,
  loadOrProblems,
  printJson,
  printProblems,
  RigError,
} from "./common.ts";
import { call, configOrRunningDaemon, daemonStatus, readDaemonState, startDaemon } from "./daemon-client.ts";

const run = defineCommand({
  meta: {
    name: "run",
    description: "run the gateway in the foreground (Ctrl-C stops it and every server it started)",
  },
  args: { ...homeArg },
  async run({ args }) {
    const { runDaemon } = await import("../gateway/daemon.ts");
    try {
      await runDaemon({ home: args.home, version: packageJson.version, echo: !process.env.RIG_DAEMON });
    } catch (error) {
      if (error instanceof Error && error.name === "ConfigError") throw error;
      throw new RigError((error as Error).message);
    }
  },
});

const start = defineCommand({
  meta: { name: "start", description: "start the gateway in the background (logs in logs/gateway.log)" },
  args: { ...homeArg, ...jsonArg },
  async run({ args }) {
    const config = await loadOrExit(args.home);
    const running = await daemonStatus(config);
    const status = running ?? (await startDaemon(config));
    if (args.json)
      return printJson({
        running: true,
        already: Boolean(running),
        pid: status.pid,
        url: gatewayUrl(config),
      });
    process.stdout.write(
      `${running ? "gateway already running" : pc.green("gateway started")} on ${gatewayUrl(config)} (pid ${status.pid})\n`,
    );
  },
});

const stop = defineCommand({
  meta: { name: "stop", description: "stop the gateway and every server it started" },
  args: { ...homeArg, ...jsonArg },
  async run({ args }) {
    // A rig.yaml broken since the daemon started must not keep it from being stopped: without a
    // config, the daemon is found by its state file and stopped by signal.
    const loaded = await loadOrProblems(args.home);
    const config = loaded instanceof ConfigError ? undefined : loaded;
    if (loaded instanceof ConfigError) {
      printProblems(loaded, "note");
      process.stderr.write(
        `${pc.yellow("note:")} rig.yaml has problems (rig doctor); stopping the gateway by its pid\n`,
      );
    }
    const state = readDaemonState((config?.home ?? homePaths(args.home)).state);
    const status = config ? await daemonStatus(config).catch(() => undefined) : undefined;
    if (!status && !state) {
      if (args.json) return printJson({ stopped: false, running: false });
      process.stdout.write("gateway is not running\n");
      return;
    }
    const pid = status?.pid ?? state!.pid;
    if (status && config) await call(config, "POST", "/rig/v1/shutdown").catch(() => undefined);
    else if (state?.start_time === undefined || processStartTime(pid) === state.start_time)
      signalGroup(pid, "SIGTERM");
    const deadline = Date.now() + 30_000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(50);
    if (isAlive(pid)) throw new RigError(`gateway (pid ${pid}) did not stop within 30s`);
    if (args.json) return printJson({ stopped: true, pid });
    process.stdout.write(`gateway stopped (pid ${pid})\n`);
  },
});

const status = defineCommand({
  meta: {
    name: "status",
    description: "is the gateway running, and what does it serve (exit 1 when not running)",
  },
  args: { ...homeArg, ...jsonArg },
  async run({ args }) {
    const view = await configOrRunningDaemon(args.home);
    const current = view.config ? await daemonStatus(view.config) : view.status;
    const url = view.config ? gatewayUrl(view.config) : view.target.url;
    if (args.json) printJson(current ? { running: true, url, ...current } : { running: false, url });
    else if (current) {
      const ready = current.servers.filter((server) => server.state === "ready").map((server) => server.name);
      process.stdout.write(
        `gateway running on ${url} (pid ${current.pid}, since ${current.started_at})\nservers ready: ${ready.join(", ") || "none"}\n`,
      );
    } else process.stdout.write(`gateway is not running (${url})\n`);
    if (!current) process.exitCode = 1;
  },
});

export default defineCommand({
  meta: { name: "gateway", description: "the gateway daemon: run | start | stop | status" },
  subCommands: { run, start, stop, status },
});
