import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { type Config, loadConfig } from "../config/loader.ts";
import { ConfigError, formatWhere, type Problem } from "../config/problems.ts";
import { harnessFor } from "../harnesses/index.ts";
import { findLlamaServer } from "../install/llama-cpp.ts";
import { runtimeFor } from "../runtimes/index.ts";
import { describeHolder, isPortFree } from "../system/ports.ts";
import { which } from "../system/which.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, printJson } from "./common.ts";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

function executableProblem(executable: string, what: string, key: string, hint = ""): Problem | undefined {
  if (which(executable)) return undefined;
  return {
    level: "error",
    code: "executable-missing",
    message: `${what}: \`${executable}\` not found${executable.includes("/") ? "" : " on PATH"}; install it${hint} or set ${key}`,
  };
}

/** Everything about this machine that would stop the config from running: executables, model files, ports. */
export async function machineProblems(config: Config): Promise<Problem[]> {
  const problems: Problem[] = [];
  const usedRuntimes = new Set(Object.values(config.servers).map((server) => server.runtime));
  for (const kind of usedRuntimes) {
    const adapter = runtimeFor(kind);
    const executable = (config.runtimes[kind]?.command ?? adapter.defaultCommand)[0];
    if (!executable || kind === "command") continue;
    const where = config.runtimes[kind] ? config.where(["runtimes", kind, "command"]) : undefined;
    const hint = kind === "llama.cpp" ? " (`rig install llama.cpp` builds it)" : "";
    if (kind === "llama.cpp" && !config.runtimes[kind] && findLlamaServer()) continue;
    const problem = executableProblem(executable, `runtime ${kind}`, `runtimes.${kind}.command`, hint);
    if (problem) problems.push({ ...problem, where });
  }
  for (const server of Object.values(config.servers)) {
    if (server.runtime === "command") {
      const executable = server.command![0]!;
      if (!which(executable)) {
        problems.push({
          level: "error",
          code: "executable-missing",
          message: `\`${executable}\` not found`,
          path: `servers.${server.name}.command`,
          where: config.where(["servers", server.name, "command", 0]),
        });
      }
    }
    const modelIsFile = server.modelPath?.startsWith("/");
    if (modelIsFile && !existsSync(server.modelPath!)) {
      problems.push({
        level: "error",
        code: "model-missing",
        message: `model not found: ${server.modelPath}`,
        path: `servers.${server.name}.model`,
        where: config.where(["servers", server.name, "model"]),
      });
    }
  }
  const usedHarnesses = new Set(Object.values(config.agents).map((agent) => agent.harness));
  for (const name of usedHarnesses) {
    const executable = (config.harnesses[name]?.command ?? harnessFor(name).defaultCommand)[0]!;
    const problem = executableProblem(executable, `agent CLI ${name}`, `harnesses.${name}.command`);
    if (problem)
      problems.push({
        ...problem,
        where: config.harnesses[name] ? config.where(["harnesses", name, "command"]) : undefined,
      });
  }
  if (!(await isPortFree(config.gateway.host, config.gateway.port))) {
    problems.push({
      level: "warning",
      code: "port-taken",
      message: `gateway port ${config.gateway.port} is held by ${describeHolder(config.gateway.port)} (fine if that is rig's gateway)`,
      where: config.where(["gateway", "port"]),
    });
  }
  for (const server of Object.values(config.servers)) {
    if (server.port === undefined || runtimeFor(server.runtime).sharedProcess) continue;
    if (!(await isPortFree(server.host ?? "127.0.0.1", server.port))) {
      problems.push({
        level: "error",
        code: "port-taken",
        message: `port ${server.port} is already taken by ${describeHolder(server.port)}`,
        path: `servers.${server.name}.port`,
        where: config.where(["servers", server.name, "port"]),
      });
    }
  }
  if (!LOOPBACK.has(config.gateway.host) && !config.gateway.apiKey) {
    problems.push({
      level: "warning",
      code: "gateway-open",
      message: `the gateway binds ${config.gateway.host} without gateway.api_key: anyone on that network can use your models`,
      where: config.where(["gateway", "host"]),
    });
  }
  if (Object.keys(config.agents).length > 0) {
    const { binOnPath, shimPlan } = await import("./shims.ts");
    if (!binOnPath(config.paths.bin)) {
      problems.push({
        level: "warning",
        code: "bin-not-on-path",
        message: `${config.paths.bin} (paths.bin) is not on PATH: the agent commands will not be found by name`,
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
