import { type ArgsDef, type CommandDef, defineCommand, renderUsage, runCommand } from "citty";
import packageJson from "../../package.json" with { type: "json" };
import { ConfigError, formatProblem, nearest } from "../config/problems.ts";
import { strayArgument } from "./arguments.ts";
import { inRigColors, pc } from "./colors.ts";
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
    fit: lazy(() => import("./fit.ts")),
    schema: lazy(() => import("./schema.ts")),
    install: lazy(() => import("./install.ts")),
    gateway: lazy(() => import("./gateway.ts")),
    service: lazy(() => import("./service.ts")),
    serve: lazy(() => import("./serve.ts")),
    stop: lazy(() => import("./stop.ts")),
    ps: lazy(() => import("./ps.ts")),
    logs: lazy(() => import("./logs.ts")),
    history: lazy(() => import("./history.ts")),
    stats: lazy(() => import("./stats.ts")),
    bench: lazy(() => import("./bench.ts")),
    run: lazy(() => import("./run.ts")),
    shims: lazy(() => import("./shims.ts")),
    models: lazy(() => import("./models.ts")),
    docs: lazy(() => import("./docs.ts")),
    add: lazy(() => import("./add.ts")),
    worker: lazy(() => import("./worker.ts")),
  },
});

async function subCommandsOf(command: CommandDef): Promise<Record<string, unknown> | undefined> {
  const subCommands =
    typeof command.subCommands === "function" ? await command.subCommands() : await command.subCommands;
  return subCommands && Object.keys(subCommands).length > 0 ? subCommands : undefined;
}

/** What the words on the command line name, and how to run it. */
interface Invocation {
  command: CommandDef;
  /** The group above it (for its usage line). */
  parent?: CommandDef;
  /** The command words, e.g. `gateway start`. */
  path: string[];
  /** The arguments for citty, global options moved behind the command words. */
  args: string[];
  /** A word where a command was expected that names none, with the commands it could have meant. */
  unknown?: { word: string; commands: string[] };
}

/**
 * Follows the command words down the subcommand tree. People type global options first (`git -C`,
 * `kubectl -n`), but citty would take `--home`'s value for a command name and read options only after
 * the command: `--home DIR` and `--json` before or between command words move behind them.
 */
async function invocationOf(rawArgs: string[]): Promise<Invocation> {
  const separator = rawArgs.indexOf("--");
  const own = separator === -1 ? rawArgs : rawArgs.slice(0, separator);
  const passedOn = separator === -1 ? [] : rawArgs.slice(separator);
  let command: CommandDef = main;
  let parent: CommandDef | undefined;
  const path: string[] = [];
  const words: string[] = [];
  const globals: string[] = [];
  let index = 0;
  for (; index < own.length; index++) {
    const subCommands = await subCommandsOf(command);
    if (!subCommands) break;
    const word = own[index]!;
    if (word === "--json" || word.startsWith("--home=")) globals.push(word);
    else if (word === "--home") {
      globals.push(word, ...own.slice(index + 1, index + 2));
      index++;
    } else if (word.startsWith("-")) words.push(word);
    else if (Object.hasOwn(subCommands, word)) {
      const next = subCommands[word] as CommandDef | (() => Promise<CommandDef>);
      parent = command;
      command = typeof next === "function" ? await next() : next;
      path.push(word);
      words.push(word);
    } else
      return { command, parent, path, args: rawArgs, unknown: { word, commands: Object.keys(subCommands) } };
  }
  return { command, parent, path, args: [...words, ...own.slice(index), ...globals, ...passedOn] };
}

/** Commands that hand the words after `--` to an agent or a runtime. */
const PASSES_ON = new Set(["run", "add"]);

async function argsOf(command: CommandDef): Promise<ArgsDef | undefined> {
  return typeof command.args === "function" ? await command.args() : await command.args;
}

/** The words given to the command itself: `own` without its command words (the first of each, in order). */
function ownWords(own: string[], path: string[]): string[] {
  const words: string[] = [];
  let next = 0;
  for (const word of own) {
    if (word === path[next]) next++;
    else words.push(word);
  }
  return words;
}

async function printUsage(
  command: CommandDef,
  parent: CommandDef | undefined,
  path: string[],
): Promise<void> {
  // citty names a command by its parent's name and its own: under a group that reads `worker run`, so
  // the parent it is given carries the whole path to it (`rig worker`).
  const parentMeta = parent && (typeof parent.meta === "function" ? await parent.meta() : await parent.meta);
  const named =
    parent && parent !== main
      ? { ...parent, meta: { ...parentMeta, name: ["rig", ...path.slice(0, -1)].join(" ") } }
      : parent;
  // citty pads every column to the widest cell, the last one too, and colours even into a pipe.
  const usage = inRigColors(await renderUsage(command, named)).replace(/[ \t]+$/gm, "");
  process.stdout.write(`${usage}\n\n`);
}

function usageFailure(message: string, path: string[]): number {
  const help = ["rig", ...path].join(" ");
  process.stderr.write(`${pc.red("error:")} ${inRigColors(message)}\n${pc.dim(`see \`${help} --help\``)}\n`);
  return 2;
}

async function run(rawArgs: string[]): Promise<number> {
  if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
    process.stdout.write(`${packageJson.version}\n`);
    return 0;
  }
  const { command, parent, path, args, unknown } = await invocationOf(rawArgs);
  if (unknown) {
    const suggestion = nearest(unknown.word, unknown.commands);
    const named = ["rig", ...path, unknown.word].join(" ");
    const meant = suggestion ? `; did you mean \`${["rig", ...path, suggestion].join(" ")}\`?` : "";
    return usageFailure(`unknown command \`${named}\`${meant}`, path);
  }
  const separator = args.indexOf("--");
  const own = separator === -1 ? args : args.slice(0, separator);
  const wantsHelp = own.includes("--help") || own.includes("-h");
  // A group named without its subcommand (or rig alone) answers with its usage.
  if (wantsHelp || !command.run) {
    await printUsage(command, parent, path);
    return wantsHelp ? 0 : 2;
  }
  const stray = strayArgument(path.join(" "), (await argsOf(command)) ?? {}, ownWords(own, path));
  if (stray) {
    const passOn = PASSES_ON.has(path[0] ?? "") ? " (what the agent or runtime takes goes after `--`)" : "";
    return usageFailure(`${stray}${passOn}`, path);
  }
  try {
    await runCommand(main, { rawArgs: args });
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
    if (error instanceof Error && error.name === "CLIError") return usageFailure(error.message, path);
    process.stderr.write(
      `${pc.red("error:")} ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

process.exitCode = await run(process.argv.slice(2));
