import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineCommand } from "citty";
import { parseTokenCount } from "../config/duration.ts";
import { entryYaml, insertEntry, type Section, writeConfigAtomically } from "../config/editor.ts";
import { configPathOf, expandTilde } from "../config/home.ts";
import { type Config, findServer, loadConfig } from "../config/loader.ts";
import { didYouMean, formatWhere } from "../config/problems.ts";
import { HARNESS_NAMES, harnessFor } from "../harnesses/index.ts";
import { agentPin, cachedAgent } from "../install/agents.ts";
import { kindsRequiring, RUNTIME_KINDS, runtimeFor } from "../runtimes/index.ts";
import { which } from "../system/which.ts";
import { withHarnessCommand } from "./agent-install.ts";
import { pc } from "./colors.ts";
import {
  argsAfterSeparator,
  homeArg,
  jsonArg,
  loadOrExit,
  printJson,
  RigError,
  refreshDocs,
  UsageError,
} from "./common.ts";

/** The words after `--`, numbers written as numbers so rig.yaml reads `[--threads, 8]`. */
function afterSeparator(rawArgs: string[]): Array<string | number> {
  return argsAfterSeparator(rawArgs).map((word) =>
    /^-?\d+(\.\d+)?$/.test(word) && String(Number(word)) === word ? Number(word) : word,
  );
}

/** Runtimes whose `model:` may be a registry id or a tag rather than a file. */
function kindsNamingModels(): string[] {
  return kindsRequiring("model").filter((kind) => runtimeFor(kind).modelKind !== "path");
}

const commonArgs = {
  "dry-run": { type: "boolean", description: "show what would be added; write nothing" },
  ...homeArg,
  ...jsonArg,
} as const;

/** The config (with positions, for error messages), after checking the new name is free and valid. */
async function configForNewName(home: string | undefined, name: string): Promise<Config> {
  const config = await loadOrExit(home, { positions: true, docs: false });
  assertNewName(config, name);
  return config;
}

function assertNewName(config: Config, name: string): void {
  const taken = config.servers[name]
    ? (["servers", name] as const)
    : config.agents[name]
      ? (["agents", name] as const)
      : findServer(config, name)
        ? (["servers", findServer(config, name)!.name, "aliases"] as const)
        : undefined;
  if (taken)
    throw new RigError(
      `\`${name}\` is already used by ${taken.slice(0, 2).join(".")} (${formatWhere(config.where([...taken]))}); pick another name, or edit that entry`,
    );
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    throw new UsageError(
      `\`${name}\`: use letters, digits, '.', '_' and '-' (it becomes a command and a URL part)`,
    );
}

interface AddArgs {
  name: string;
  json?: boolean;
  "dry-run"?: boolean;
}

/** A harness command `rig add agent` writes with the agent, so the agent runs as soon as it is added. */
interface HarnessCommand {
  harness: string;
  command: string;
}

/**
 * Inserts the entry (fields left undefined are not written) and the harness command it needs, validates
 * the whole result, writes it with a backup in one edit, then syncs shims and docs.
 */
async function addEntry(
  config: Config,
  section: Section,
  args: AddArgs,
  fields: Record<string, unknown>,
  notes: string[],
  harnessCommand?: HarnessCommand,
) {
  const name = args.name;
  const options = { json: Boolean(args.json), dryRun: Boolean(args["dry-run"]) };
  const entry = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  const file = config.files[0]!;
  const before = readFileSync(file, "utf8");
  let text: string;
  try {
    text = insertEntry(before, section, name, entry);
    if (harnessCommand)
      text = withHarnessCommand(
        text,
        harnessCommand.harness,
        configPathOf(harnessCommand.command, config.home.root),
      );
  } catch (error) {
    throw new RigError((error as Error).message);
  }
  const edited = await loadConfig({ home: config.home.root, text });
  const result = {
    file,
    section,
    name,
    entry,
    harnessCommand: harnessCommand ?? null,
    written: !options.dryRun,
    backup: undefined as string | undefined,
    shims: [] as string[],
  };
  if (!options.dryRun) {
    result.backup = writeConfigAtomically(file, before, text).backup;
    const { syncShims } = await import("./shims.ts");
    result.shims = syncShims(edited)
      .filter((action) => action.kind === "write" && action.agent)
      .map((action) => action.path);
    await refreshDocs(edited);
  }
  if (options.json) return printJson(result);
  process.stdout.write(
    `${options.dryRun ? pc.yellow("would add to") : pc.green("added to")} ${formatWhere(edited.where([section, name]))}\n${entryYaml(section, name, entry)}`,
  );
  for (const shim of result.shims) process.stdout.write(`${pc.green("command")} ${shim}\n`);
  for (const note of notes) process.stdout.write(`${pc.dim("note:")} ${note}\n`);
  if (result.backup) process.stdout.write(pc.dim(`backup: ${result.backup}\n`));
}

const server = defineCommand({
  meta: {
    name: "server",
    description:
      "add a server profile: the runtime and context come from the model files (rig add server <name> --model PATH [-- runtime args])",
  },
  args: {
    name: { type: "positional", required: true, description: "profile name (the model name clients send)" },
    model: {
      type: "string",
      required: true,
      description: `model file or folder (a tag or id with --runtime; the URL with --runtime ${kindsRequiring("url").join("|")})`,
      valueHint: "PATH",
    },
    runtime: {
      type: "string",
      description: `runtime kind (${RUNTIME_KINDS.join(", ")}); inferred from the files`,
      valueHint: "KIND",
    },
    port: { type: "string", description: "fixed port (default: a free one at each start)", valueHint: "N" },
    context: {
      type: "string",
      description: "context window in tokens, e.g. 32768 or 32k (default: the model's trained context)",
      valueHint: "N",
    },
    ttl: { type: "string", description: "unload after this long idle (e.g. 30m)", valueHint: "DURATION" },
    group: { type: "string", description: "servers in one group never run together", valueHint: "NAME" },
    notes: { type: "string", description: "why these flags (kept in rig.yaml and the docs)" },
    ...commonArgs,
  },
  async run({ args, rawArgs }) {
    const config = await configForNewName(args.home, args.name);
    const notes: string[] = [];
    const given = resolve(expandTilde(args.model));
    let runtime = args.runtime;
    let model = args.model;
    let context = args.context === undefined ? undefined : parseTokenCount(String(args.context));
    if (args.context !== undefined && context === undefined)
      throw new UsageError(
        `--context takes a number of tokens: 32768, or 32k (k is 1024); not ${args.context}`,
      );
    if (runtime && !RUNTIME_KINDS.includes(runtime))
      throw new UsageError(
        `unknown runtime \`${runtime}\`${didYouMean(runtime, RUNTIME_KINDS)} (known: ${RUNTIME_KINDS.join(", ")})`,
      );
    if (existsSync(given) || !runtime) {
      const { detectModel } = await import("../inventory/detect.ts");
      const detected = detectModel(given);
      if (typeof detected === "string")
        throw new RigError(
          `${detected}${existsSync(given) ? "" : `; for a registry id or tag (${kindsNamingModels().join(", ")}) pass --runtime`}`,
        );
      runtime ??= detected.runtime;
      model = configPathOf(detected.path, config.home.root);
      if (context === undefined && detected.model.facts.context) {
        context = detected.model.facts.context;
        notes.push(
          `context ${context} is the model's trained context; lower it in rig.yaml if memory is short`,
        );
      }
    }
    const port = args.port === undefined ? undefined : Number(args.port);
    const runtimeArgs = afterSeparator(rawArgs);
    await addEntry(
      config,
      "servers",
      args,
      {
        runtime,
        // --model fills what the runtime's profiles name: a model, or the URL of an existing server.
        ...(runtimeFor(runtime).requires === "url" ? { url: model } : { model }),
        args: runtimeArgs.length ? runtimeArgs : undefined,
        port,
        context,
        ttl: args.ttl,
        group: args.group,
        notes: args.notes,
      },
      [
        ...notes,
        `start it: rig serve ${args.name}   (or send a request for model "${args.name}" to the gateway)`,
      ],
    );
  },
});

/** What to say about a server that is not there: the nearest name, else the names there are. */
function unknownServer(config: Config, name: string): string {
  const servers = Object.values(config.servers);
  const near = didYouMean(
    name,
    servers.flatMap((server) => [server.name, ...server.aliases]),
  );
  const add = `rig add server ${name} --model PATH`;
  if (near) return `no server \`${name}\`${near}`;
  if (servers.length === 0) return `no server \`${name}\`: rig.yaml has none yet; add it first: ${add}`;
  return `no server \`${name}\` (rig.yaml has ${servers.map((server) => server.name).join(", ")}); name one of those, or add it first: ${add}`;
}

/**
 * Where the agent's CLI comes from when rig.yaml names none and PATH has none: rig's cache (then the
 * agent's harness command is written with it, so it runs as soon as it is added), else nowhere yet.
 */
function harnessCli(
  config: Config,
  harness: string,
  dryRun: boolean,
): { note?: string; harnessCommand?: HarnessCommand } {
  const executable = harnessFor(harness).defaultCommand[0]!;
  if (config.harnesses[harness] || which(executable)) return {};
  const key = `harnesses.${harness}.command`;
  const pin = agentPin(harness);
  const install = pin && `\`rig install ${harness}\` installs ${pin.version}, the version rig verified`;
  const cached = cachedAgent(harness);
  if (!cached) return { note: `\`${executable}\` is not on PATH: ${install ?? "install it"}, or set ${key}` };
  const aboutVersion = cached.version === pin?.version ? ", the version rig verified" : `: ${install}`;
  return {
    harnessCommand: { harness, command: cached.path },
    note: `\`${executable}\` is not on PATH: ${dryRun ? "would set" : "set"} ${key} to ${cached.path} (${cached.version} in rig's cache${aboutVersion})`,
  };
}

const agent = defineCommand({
  meta: {
    name: "agent",
    description:
      "add an agent profile: a coding agent pointed at a server, with a one-word command (rig add agent <name> --harness H --server S)",
  },
  args: {
    name: {
      type: "positional",
      required: true,
      description: "agent name; it becomes the command (e.g. claude-qwen)",
    },
    harness: {
      type: "string",
      required: true,
      description: `the agent CLI (${HARNESS_NAMES.join(", ")})`,
      valueHint: "H",
    },
    server: {
      type: "string",
      required: true,
      description: "the server profile (or alias) it talks to",
      valueHint: "S",
    },
    "model-id": {
      type: "string",
      description: "the model name the agent is configured with (default: the server name)",
    },
    ...commonArgs,
  },
  async run({ args, rawArgs }) {
    const config = await configForNewName(args.home, args.name);
    if (!HARNESS_NAMES.includes(args.harness))
      throw new UsageError(
        `unknown harness \`${args.harness}\`${didYouMean(args.harness, HARNESS_NAMES)} (known: ${HARNESS_NAMES.join(", ")})`,
      );
    if (!findServer(config, args.server)) throw new RigError(unknownServer(config, args.server));
    const cli = harnessCli(config, args.harness, Boolean(args["dry-run"]));
    const agentArgs = afterSeparator(rawArgs);
    await addEntry(
      config,
      "agents",
      args,
      {
        harness: args.harness,
        server: args.server,
        model_id: args["model-id"],
        args: agentArgs.length ? agentArgs : undefined,
      },
      [...(cli.note ? [cli.note] : []), `run it: ${args.name}   (or rig run ${args.name})`],
      cli.harnessCommand,
    );
  },
});

export default defineCommand({
  meta: {
    name: "add",
    description: "add a server or agent profile to rig.yaml, keeping its comments: server | agent",
  },
  subCommands: { server, agent },
});
