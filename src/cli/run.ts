import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { constants } from "node:os";
import { dirname } from "node:path";
import { defineCommand } from "citty";
import { findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { redactSecrets } from "../config/secrets.ts";
import { agentLaunch } from "../harnesses/plan.ts";
import { agentPin } from "../install/agents.ts";
import { writeFileAtomic } from "../system/atomic-write.ts";
import { notFoundMessage, which } from "../system/which.ts";
import { argsAfterSeparator, homeArg, loadOrExit, printJson, RigError } from "./common.ts";
import { ensureDaemon } from "./daemon-client.ts";
import { startWithProgress } from "./start-progress.ts";

export default defineCommand({
  meta: {
    name: "run",
    description:
      "start the gateway and the agent's server, then run the agent: rig run <agent> [-- agent args]",
  },
  args: {
    agent: { type: "positional", description: "agent name", required: true },
    "dry-run": {
      type: "boolean",
      description: "print the command, args, env and files; run nothing",
      default: false,
    },
    json: { type: "boolean", description: "with --dry-run: print JSON", default: false },
    ...homeArg,
  },
  async run({ args, rawArgs }) {
    const config = await loadOrExit(args.home);
    const agent = config.agents[args.agent];
    if (!agent) {
      const server = findServer(config, args.agent);
      const instead = server
        ? `; \`${args.agent}\` is a server: \`rig serve ${server.name}\` starts it, \`rig run\` takes an agent`
        : `${didYouMean(args.agent, Object.keys(config.agents))} (see \`rig ls\`)`;
      throw new RigError(`no agent named \`${args.agent}\`${instead}`);
    }
    const launch = agentLaunch(config, agent, argsAfterSeparator(rawArgs));
    if (args["dry-run"]) {
      // Printed for a person to read or paste: secrets are shown as their references.
      const shown = redactSecrets(config, launch);
      if (args.json) return printJson(shown);
      process.stdout.write(
        [
          ...shown.files.map((file) => `# writes ${file.path}`),
          ...Object.entries(shown.env).map(([key, value]) => `${key}=${JSON.stringify(value)} \\`),
          [shown.command, ...shown.args]
            .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
            .join(" "),
          "",
        ].join("\n"),
      );
      return;
    }
    const executable = which(launch.command);
    if (!executable) {
      const install =
        agentPin(agent.harness) && `\`rig install ${agent.harness}\` installs the version rig verified`;
      throw new RigError(
        notFoundMessage(
          `agent CLI ${agent.harness}`,
          launch.command,
          `harnesses.${agent.harness}.command in rig.yaml`,
          install,
        ),
      );
    }
    const server = findServer(config, agent.server);
    await ensureDaemon(config);
    // A peer's model (`box2/qwen`) has nothing to start here: the peer starts it on the first request.
    if (server) {
      const ready = await startWithProgress(config, server.name);
      if (process.stderr.isTTY) ready.done();
    }
    for (const file of launch.files) {
      mkdirSync(dirname(file.path), { recursive: true });
      writeFileAtomic(file.path, file.content, { mode: file.secret ? 0o600 : undefined });
    }
    const child = spawn(executable, launch.args, {
      stdio: "inherit",
      env: { ...process.env, ...launch.env },
    });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const)
      process.on(signal, forward(signal));
    const code = await new Promise<number>((resolve) => {
      child.on("error", (error) => {
        process.stderr.write(`could not start ${launch.command}: ${error.message}\n`);
        resolve(127);
      });
      child.on("exit", (exitCode, signal) =>
        resolve(exitCode ?? 128 + (signal ? (constants.signals[signal] ?? 1) : 0)),
      );
    });
    process.exitCode = code;
  },
});
