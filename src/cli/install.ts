import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { homePaths } from "../config/home.ts";
import { nearest } from "../config/problems.ts";
import { AGENT_PINS, agentBin, agentPin, installedAgents } from "../install/agents.ts";
import {
  BACKENDS,
  type Backend,
  type BuildChoice,
  buildLlamaServer,
  cachedLlamaServer,
  LLAMA_SOURCE_VERSION,
} from "../install/llama-cpp.ts";
import { RUNTIMES } from "../runtimes/index.ts";
import type { RigBuild, RuntimeAdapter } from "../runtimes/types.ts";
import { installAgentWithProgress, pointHarness } from "./agent-install.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError, refreshDocs, UsageError } from "./common.ts";
import { progress } from "./progress.ts";
import { table } from "./table.ts";

/** The builders behind what adapters say rig builds, and the source version each builds. */
const BUILDS: Record<
  RigBuild,
  { build: typeof buildLlamaServer; cached: () => string | undefined; version: string }
> = {
  "llama-server": {
    build: buildLlamaServer,
    cached: () => cachedLlamaServer(),
    version: LLAMA_SOURCE_VERSION,
  },
};

/** rig's own build of this runtime's executable, when rig builds it and the build is in the cache. */
export function cachedBuild(adapter: RuntimeAdapter): string | undefined {
  const rigBuild = adapter.install?.rigBuild;
  return rigBuild ? BUILDS[rigBuild].cached() : undefined;
}

const buildable = Object.values(RUNTIMES).filter((adapter) => adapter.install?.rigBuild);
const installable = [...Object.keys(AGENT_PINS), ...buildable.map((adapter) => adapter.kind)];
/** Names people may type for something rig installs: its own, and the command it puts on PATH (`claude`, `llama-server`). */
const ALSO_KNOWN_AS: Record<string, string> = Object.fromEntries([
  ...installable.map((name) => [name, name]),
  ...Object.entries(AGENT_PINS).map(([name, pin]) => [pin.bin, name]),
  ...buildable.map((adapter) => [adapter.install!.rigBuild!, adapter.kind]),
]);

interface Installable {
  name: string;
  kind: "agent" | "runtime";
  package: string;
  verified: string;
  /** Versions in rig's cache. */
  installed: string[];
  /** The verified version's executable, when it is installed. */
  path: string | null;
}

function installables(): Installable[] {
  const cached = installedAgents();
  const agents = Object.entries(AGENT_PINS).map(([name, pin]): Installable => {
    const path = agentBin(name);
    return {
      name,
      kind: "agent",
      package: pin.package,
      verified: pin.version,
      installed: cached.filter((agent) => agent.name === name).map((agent) => agent.version),
      path: existsSync(path) ? path : null,
    };
  });
  const runtimes = buildable.map((adapter): Installable => {
    const build = BUILDS[adapter.install!.rigBuild!];
    const path = build.cached() ?? null;
    return {
      name: adapter.kind,
      kind: "runtime",
      package: adapter.kind,
      verified: build.version,
      installed: path ? [build.version] : [],
      path,
    };
  });
  return [...agents, ...runtimes];
}

function printInstallables(json: boolean) {
  const rows = installables();
  if (json) return printJson(rows);
  process.stdout.write(
    `${table(
      ["name", "kind", "verified", "installed", "path"],
      rows.map((row) => [
        pc.bold(row.name),
        row.kind,
        row.verified,
        row.installed.join(", ") || pc.dim("no"),
        row.path ?? pc.dim(`rig install ${row.name}`),
      ]),
    )}\n`,
  );
}

async function installAgentIntoHome(name: string, home: string | undefined, json: boolean) {
  const paths = homePaths(home);
  // A broken rig.yaml stops the command before a download, not after it.
  const config = existsSync(paths.config)
    ? await loadOrExit(home, { positions: true, docs: false })
    : undefined;
  const installed = await installAgentWithProgress(name);
  const pointed = config ? await pointHarness(config, name, installed.path) : undefined;
  if (pointed?.changed) await refreshDocs(await loadOrExit(home, { docs: false }));
  if (json) return printJson({ ...installed, package: AGENT_PINS[name]!.package, config: pointed ?? null });
  process.stdout.write(`${installed.path}\n`);
  if (!pointed) {
    process.stdout.write(
      pc.dim(`no rig.yaml in ${paths.root}: set harnesses.${name}.command to this path in yours\n`),
    );
  } else if (pointed.changed) {
    const was = pointed.previous ? ` (was ${pointed.previous.join(" ")})` : "";
    process.stdout.write(`${pc.green("set")} ${pointed.key} in ${pointed.file}${was}\n`);
    if (pointed.backup) process.stdout.write(pc.dim(`backup: ${pointed.backup}\n`));
  } else {
    process.stdout.write(pc.dim(`${pointed.key} in ${pointed.file} already names it\n`));
  }
}

function chosenBackend(flags: Partial<Record<Backend, boolean>>): Backend {
  const chosen = (Object.keys(BACKENDS) as Backend[]).filter(
    (backend) => backend !== "cpu" && flags[backend],
  );
  if (chosen.length > 1) throw new UsageError(`choose one backend, not ${chosen.join(" and ")}`);
  return chosen[0] ?? "cpu";
}

async function buildRuntime(adapter: RuntimeAdapter, choice: BuildChoice, json: boolean): Promise<void> {
  const bar = progress(adapter.kind);
  try {
    const result = await BUILDS[adapter.install!.rigBuild!].build(choice, (event) => {
      bar.update(
        event.phase === "compile" ? `compiling ${event.percent}%` : event.message,
        event.phase === "compile" ? `${Math.floor(event.percent / 10)}` : event.phase,
      );
    });
    if (json) printJson({ runtime: adapter.kind, ...choice, ...result });
    else {
      bar.done(result.cached ? "already built" : `built in ${result.seconds}s`);
      process.stdout.write(`${result.path}\n`);
      if (result.rpcServer) process.stdout.write(`${result.rpcServer}\n`);
    }
  } catch (error) {
    bar.fail("build failed");
    throw new RigError((error as Error).message);
  }
}

export default defineCommand({
  meta: {
    name: "install",
    description:
      "install an agent CLI at the version rig verified, or build a runtime, into rig's cache (~/.cache/rig); --list shows what is there",
  },
  args: {
    name: { type: "positional", description: `what to install: ${installable.join(", ")}`, required: false },
    list: {
      type: "boolean",
      description: "what rig installs, the version it verified and what is in the cache",
      default: false,
    },
    cuda: { type: "boolean", description: "build with CUDA", default: false },
    vulkan: { type: "boolean", description: "build with Vulkan", default: false },
    metal: { type: "boolean", description: "build with Metal", default: false },
    rpc: {
      type: "boolean",
      description:
        "also build rpc-server, so one model can be split across hosts (`rig worker run` on each; rpc: in a server)",
      default: false,
    },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (args.list) return printInstallables(args.json);
    if (!args.name) throw new UsageError(`name what to install (${installable.join(", ")}), or use --list`);
    if (args.rpc && !RUNTIMES[args.name]?.install?.rigBuild)
      throw new UsageError(`--rpc builds llama.cpp's rpc-server: \`rig install llama.cpp --rpc\``);
    if (agentPin(args.name)) return installAgentIntoHome(args.name, args.home, args.json);
    const adapter = RUNTIMES[args.name];
    if (adapter?.install?.rigBuild)
      return buildRuntime(adapter, { backend: chosenBackend(args), rpc: args.rpc }, args.json);
    const suggestion = nearest(args.name, Object.keys(ALSO_KNOWN_AS));
    throw new UsageError(
      adapter?.install
        ? `rig installs ${installable.join(", ")}; \`${args.name}\` is installed with its own installer: ${adapter.install.hint}`
        : `rig does not install \`${args.name}\`${suggestion ? `; did you mean \`${ALSO_KNOWN_AS[suggestion]}\`?` : ""} (it installs ${installable.join(", ")})`,
    );
  },
});
