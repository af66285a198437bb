import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { type Config, loadConfig } from "../config/loader.ts";
import { ConfigError, formatWhere, type Problem } from "../config/problems.ts";
import { harnessFor } from "../harnesses/index.ts";
import {
  type AgentPin,
  agentBin,
  agentPin,
  cachedAgent,
  compareVersions,
  packageVersionOf,
} from "../install/agents.ts";
import { runtimeFor } from "../runtimes/index.ts";
import {
  missingExecutable,
  missingModel,
  type PreflightProblem,
  silentWorkers,
  takenPort,
  workersDownProblem,
} from "../supervisor/preflight.ts";
import { isLoopbackHost } from "../system/loopback.ts";
import { describeHolder, isPortFree } from "../system/ports.ts";
import { notFoundMessage, which } from "../system/which.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, printJson } from "./common.ts";
import { cachedBuild } from "./install.ts";

/** Everything about this machine that would stop the config from running: executables, model files, ports. */
export async function machineProblems(config: Config): Promise<Problem[]> {
  const problems: Problem[] = [];
  const servers = Object.values(config.servers);
  const fromPreflight = (problem: PreflightProblem): Problem => ({
    level: "error",
    code: problem.code,
    message: problem.message,
    path: problem.path,
    where: problem.entry ? config.where(problem.entry) : undefined,
  });
  // One problem per missing program, however many profiles run it.
  const executables = new Map<string, Problem>();
  for (const server of servers) {
    const problem = missingExecutable(config, server);
    if (!problem) continue;
    // A start looks on PATH only, so rig's own build is named rather than taken as the executable.
    const built = problem.entry ? undefined : cachedBuild(runtimeFor(server.runtime));
    const message = built ? `${problem.message} (rig's build is at ${built})` : problem.message;
    executables.set(message, { ...fromPreflight(problem), message });
  }
  problems.push(...executables.values());
  for (const server of servers) {
    const problem = missingModel(config, server);
    if (problem) problems.push(fromPreflight(problem));
  }
  problems.push(...agentProblems(config));
  if (!(await isPortFree(config.gateway.host, config.gateway.port))) {
    problems.push({
      level: "warning",
      code: "port-taken",
      message: `gateway port ${config.gateway.port} is held by ${describeHolder(config.gateway.port)} (fine if that is rig's gateway)`,
      where: config.where(["gateway", "port"]),
    });
  }
  for (const server of servers) {
    if (server.port === undefined || runtimeFor(server.runtime).sharedProcess) continue;
    const problem = await takenPort(server, server.port);
    if (problem) problems.push(fromPreflight(problem));
  }
  if (!isLoopbackHost(config.gateway.host) && !config.gateway.apiKey) {
    problems.push({
      level: "warning",
      code: "gateway-open",
      message: `the gateway binds ${config.gateway.host} without gateway.api_key: anyone on that network can use your models`,
      where: config.where(["gateway", "host"]),
    });
  }
  problems.push(...(await workerProblems(config)));
  if (Object.keys(config.agents).length > 0) {
    const { binOnPath, shimPlan } = await import("./shims.ts");
    if (!binOnPath(config.paths.bin)) {
      problems.push({
        level: "warning",
        code: "bin-not-on-path",
        message: `${config.paths.bin} (paths.bin) is not on PATH, so the agent commands are not found by name: add it (export PATH="${config.paths.bin}:$PATH") or run agents with \`rig run <agent>\``,
        where: config.where(["paths", "bin"]),
      });
    }
    for (const action of shimPlan(config)) {
      if (action.kind === "write" && action.agent) {
        problems.push({
          level: "warning",
          code: action.reason === "new" ? "shim-missing" : "shim-stale",
          message: `the command for agent ${action.agent} is ${action.reason === "new" ? "missing" : "out of date"}: run \`rig shims sync\``,
          where: config.where(["agents", action.agent]),
        });
      } else if (action.kind === "foreign") {
        problems.push({
          level: "warning",
          code: "shim-foreign",
          message: `${action.path} exists and was not written by rig: agent ${action.agent} has no command`,
        });
      }
    }
  }
  config.paths.models.forEach((root, index) => {
    if (!existsSync(root) && index === 0) {
      problems.push({
        level: "warning",
        code: "models-root-missing",
        message: `models folder ${root} does not exist`,
        where: config.where(["paths", "models", index]),
      });
    }
  });
  return problems;
}

/**
 * llama.cpp's RPC protocol has neither authentication nor encryption: a worker beyond loopback is open
 * to everyone on its network. Workers a server splits onto that do not answer would fail its start.
 */
async function workerProblems(config: Config): Promise<Problem[]> {
  const problems: Problem[] = [];
  const workers = Object.values(config.workers);
  const open = workers.filter((worker) => !isLoopbackHost(worker.host));
  if (open.length) {
    problems.push({
      level: "warning",
      code: "worker-open",
      message: `${open.map((worker) => `worker ${worker.name} (${worker.host}:${worker.port})`).join(", ")}: llama.cpp's rpc-server has no authentication and no encryption, so anyone who reaches it can use that host's memory and compute; keep workers on a network only you use (a private LAN or a VPN)`,
      where: config.where(["workers", open[0]!.name, "host"]),
    });
  }
  const used = workers.filter((worker) =>
    Object.values(config.servers).some((server) => server.rpc.includes(worker.name)),
  );
  const down = workersDownProblem(await silentWorkers(used));
  if (down)
    problems.push({
      level: "warning",
      code: down.code,
      message: `${down.message} (a server split onto it fails to start until then)`,
      where: down.entry ? config.where(down.entry) : undefined,
    });
  return problems;
}

/**
 * The command that gets the version rig verified: `rig install` points the home at it when it is in
 * rig's cache already, and downloads it otherwise.
 */
function installHint(harness: string, pin: AgentPin, sayVerified: boolean): string {
  const verified = sayVerified ? ", the version rig verified" : "";
  return existsSync(agentBin(harness))
    ? `\`rig install ${harness}\` points this home at ${pin.version} in rig's cache${verified}, without downloading`
    : `\`rig install ${harness}\` installs ${pin.version}${verified}`;
}

/** What gets a missing agent CLI: the verified version, or another version rig's cache already has. */
function missingAgentHint(harness: string): string | undefined {
  const pin = agentPin(harness);
  if (!pin) return undefined;
  const hint = installHint(harness, pin, true);
  const cached = cachedAgent(harness);
  return cached && cached.version !== pin.version
    ? `${hint}; or set harnesses.${harness}.command to ${cached.path} (${cached.version}, in rig's cache)`
    : hint;
}

/** Agent CLIs the agents need: missing ones, and installed versions other than the one rig verified. */
function agentProblems(config: Config): Problem[] {
  const problems: Problem[] = [];
  for (const name of new Set(Object.values(config.agents).map((agent) => agent.harness))) {
    const executable = (config.harnesses[name]?.command ?? harnessFor(name).defaultCommand)[0]!;
    const where = config.harnesses[name] ? config.where(["harnesses", name, "command"]) : undefined;
    const found = which(executable);
    if (!found) {
      problems.push({
        level: "error",
        code: "executable-missing",
        message: notFoundMessage(
          `agent CLI ${name}`,
          executable,
          `harnesses.${name}.command`,
          missingAgentHint(name),
        ),
        where,
      });
      continue;
    }
    const pin = agentPin(name);
    const version = pin && packageVersionOf(found, pin.package);
    if (!pin || !version || version === pin.version) continue;
    const older = compareVersions(version, pin.version) < 0;
    problems.push({
      level: "warning",
      code: "agent-version",
      message: `agent CLI ${name} is ${version}, ${older ? "older" : "newer"} than the ${pin.version} rig verified (agents change their requests between versions); ${installHint(name, pin, false)}`,
      where,
    });
  }
  return problems;
}

export default defineCommand({
  meta: {
    name: "doctor",
    description: "check rig.yaml, executables, model paths and ports; exit 1 on any error",
  },
  args: { ...homeArg, ...jsonArg },
  async run({ args }) {
    let problems: Problem[];
    try {
      problems = await machineProblems(await loadConfig({ home: args.home, positions: true }));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    const ok = !problems.some((problem) => problem.level === "error");
    if (args.json) {
      printJson({
        ok,
        problems: problems.map((problem) => ({
          level: problem.level,
          code: problem.code,
          message: problem.path ? `${problem.path}: ${problem.message}` : problem.message,
          where: problem.where ? `${problem.where.file}:${problem.where.line}:${problem.where.col}` : null,
        })),
      });
    } else {
      for (const problem of problems) {
        const label = problem.level === "error" ? pc.red("error") : pc.yellow("warning");
        const where = problem.where ? `${pc.bold(formatWhere(problem.where))}: ` : "";
        process.stdout.write(
          `${where}${label}: ${problem.path ? `${problem.path}: ` : ""}${problem.message}\n`,
        );
      }
      const errors = problems.filter((problem) => problem.level === "error").length;
      const warnings = problems.length - errors;
      process.stdout.write(
        ok && !warnings
          ? `${pc.green("ok")}: no problems found\n`
          : `${errors} error(s), ${warnings} warning(s)\n`,
      );
    }
    if (!ok) process.exitCode = 1;
  },
});
