import { stripVTControlCharacters } from "node:util";
import { type CommandDef, defineCommand, renderUsage, runCommand } from "citty";
import packageJson from "../../package.json" with { type: "json" };
import { ConfigError, formatProblem } from "../config/problems.ts";
import { pc } from "./colors.ts";
import { RigError } from "./errors.ts";

const lazy =
  <T>(load: () => Promise<{ default: T }>) =>
  () =>
    load().then((module) => module.default);

const main = defineCommand({
  meta: {
    name: "rig",
    version: packageJson.version,
    description: "one folder for your local-LLM stack: models, runtimes, gateway and coding agents",
  },
  subCommands: {
    init: lazy(() => import("./init.ts")),
    demo: lazy(() => import("./demo.ts")),
    doctor: lazy(() => import("./doctor.ts")),
    ls: lazy(() => import("./ls.ts")),
    explain: lazy(() => import("./explain.ts")),
    schema: lazy(() => import("./schema.ts")),
    install: lazy(() => import("./install.ts")),
    gateway: lazy(() => import("./gateway.ts")),
    serve: lazy(() => import("./serve.ts")),
    stop: lazy(() => import("./stop.ts")),
    ps: lazy(() => import("./ps.ts")),
    logs: lazy(() => import("./logs.ts")),
    history: lazy(() => import("./history.ts")),
    run: lazy(() => import("./run.ts")),
    shims: lazy(() => import("./shims.ts")),
    models: lazy(() => import("./models.ts")),
    docs: lazy(() => import("./docs.ts")),
    add: lazy(() => import("./add.ts")),
  },
});

/** Follows positional words down the subcommand tree, for `--help` at any depth. */
async function commandAt(rawArgs: string[]): Promise<[CommandDef, CommandDef | undefined]> {
  let command: CommandDef = main;
  let parent: CommandDef | undefined;
  for (const word of rawArgs) {
    if (word.startsWith("-")) break;
    const subCommands =
      typeof command.subCommands === "function" ? await command.subCommands() : await command.subCommands;
    const next = subCommands?.[word];
    if (!next) break;
    parent = command;
    command = (typeof next === "function" ? await next() : await next) as CommandDef;
  }
  return [command, parent];
}

async function run(rawArgs: string[]): Promise<number> {
  const separator = rawArgs.indexOf("--");
  const ownArgs = separator === -1 ? rawArgs : rawArgs.slice(0, separator);
  if (ownArgs.includes("--help") || ownArgs.includes("-h") || rawArgs.length === 0) {
    const [command, parent] = await commandAt(ownArgs);
    const usage = await renderUsage(command, parent);
    // citty colours unconditionally; help piped into less or grep must stay plain text.
    const plain = !process.stdout.isTTY || "NO_COLOR" in process.env;
    process.stdout.write(`${plain ? stripVTControlCharacters(usage) : usage}\n\n`);
    return rawArgs.length === 0 ? 2 : 0;
  }
  if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
    process.stdout.write(`${packageJson.version}\n`);
    return 0;
  }
  try {
    await runCommand(main, { rawArgs });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`${formatProblem(problem)}\n`);
      return 1;
    }
    if (error instanceof RigError) {
      process.stderr.write(`${pc.red("error:")} ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof Error && error.name === "CLIError") {
      process.stderr.write(
        `${pc.red("error:")} ${error.message}\n${pc.dim("see `rig --help` or `rig <command> --help`")}\n`,
      );
      return 2;
    }
    process.stderr.write(
      `${pc.red("error:")} ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

process.exitCode = await run(process.argv.slice(2));
