import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { runTool } from "./build-tools.ts";
import { cacheRoot } from "./llama-cpp.ts";

// The agent CLIs rig's own tests run against local models, pinned: agents change their requests
// between versions, and translation bugs follow. `rig install <agent>`, `rig demo`, `rig doctor` and
// the tests' installer (scripts/install-agents.mjs) all read this one list. Each version is the
// newest that runs on Node 20; moving a pin means running the agent tests against it first.

export interface AgentPin {
  /** The npm package that ships the CLI. */
  package: string;
  /** The version rig's tests verified. */
  version: string;
  /** The executable the package installs. */
  bin: string;
  /** What the package's install script fetches from outside the npm registry: where that host is
   *  unreachable the install fails, and the tests that need the agent are skipped, saying so. */
  downloads?: string;
}

/** Keyed by harness name. */
export const AGENT_PINS: Readonly<Record<string, AgentPin>> = {
  "claude-code": { package: "@anthropic-ai/claude-code", version: "2.1.197", bin: "claude" },
  codex: { package: "@openai/codex", version: "0.169.0", bin: "codex" },
  "qwen-code": { package: "@qwen-code/qwen-code", version: "0.15.10", bin: "qwen" },
  pi: { package: "@mariozechner/pi-coding-agent", version: "0.73.1", bin: "pi" },
  opencode: { package: "opencode-ai", version: "1.18.33", bin: "opencode" },
  "gemini-cli": { package: "@google/gemini-cli", version: "0.61.0", bin: "gemini" },
  copilot: { package: "@github/copilot", version: "1.0.102", bin: "copilot" },
  crush: {
    package: "@charmland/crush",
    version: "0.96.1",
    bin: "crush",
    downloads: "the crush binary from github.com/charmbracelet/crush/releases",
  },
  cline: { package: "cline", version: "3.0.65", bin: "cline" },
  // 7.8.1 names a Linux binary package (@kilocode/cli-linux-x64@7.8.1) that the registry does not have.
  kilo: { package: "@kilocode/cli", version: "7.7.7", bin: "kilo" },
  continue: { package: "@continuedev/cli", version: "1.5.47", bin: "cn" },
};

export interface InstalledAgent {
  name: string;
  version: string;
  /** The executable. */
  path: string;
}

export interface AgentInstall extends InstalledAgent {
  /** True when the version was already in the cache and nothing was downloaded. */
  cached: boolean;
}

/** The pin of an agent by harness name, when rig verified one (a name typed on the command line is safe). */
export function agentPin(name: string): AgentPin | undefined {
  return Object.hasOwn(AGENT_PINS, name) ? AGENT_PINS[name] : undefined;
}

function pinOf(name: string): AgentPin {
  const pin = agentPin(name);
  if (!pin) throw new Error(`rig has no verified version of ${name}`);
  return pin;
}

/** Where agent CLIs live: one folder per `<name>-<version>`, each its own npm prefix. */
export function agentsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), "agents");
}

const binIn = (prefix: string, pin: AgentPin) => join(prefix, "node_modules", ".bin", pin.bin);

/** The executable of the verified version, whether or not it is installed yet. */
export function agentBin(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const pin = pinOf(name);
  return binIn(join(agentsDir(env), `${name}-${pin.version}`), pin);
}

/** Every version of every pinned agent in rig's cache, by name, oldest version first. */
export function installedAgents(env: NodeJS.ProcessEnv = process.env): InstalledAgent[] {
  const dir = agentsDir(env);
  if (!existsSync(dir)) return [];
  const found: InstalledAgent[] = [];
  for (const entry of readdirSync(dir)) {
    for (const [name, pin] of Object.entries(AGENT_PINS)) {
      const version = entry.startsWith(`${name}-`) ? entry.slice(name.length + 1) : "";
      const path = binIn(join(dir, entry), pin);
      if (/^\d/.test(version) && existsSync(path)) found.push({ name, version, path });
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name) || compareVersions(a.version, b.version));
}

/**
 * The version of an agent in rig's cache that a home should run when its CLI is not on PATH: the
 * verified one when it is there, else the newest. Undefined when the cache has none.
 */
export function cachedAgent(name: string, env: NodeJS.ProcessEnv = process.env): InstalledAgent | undefined {
  const versions = installedAgents(env).filter((agent) => agent.name === name);
  const pinned = agentPin(name)?.version;
  return versions.find((agent) => agent.version === pinned) ?? versions.at(-1);
}

/**
 * The version of `packageName` an executable belongs to, from the package.json nearest its real path
 * (npm's bin links point into the package): works for rig's cache, global npm installs and nvm alike,
 * without running the agent. Undefined when the executable is not that package's.
 */
export function packageVersionOf(executable: string, packageName: string): string | undefined {
  let dir: string;
  try {
    dir = dirname(realpathSync(executable));
  } catch {
    return undefined;
  }
  for (;;) {
    const manifest = readManifest(join(dir, "package.json"));
    // Packages keep nameless package.json files in subfolders (`{"type": "module"}`); a named one owns the file.
    if (manifest?.name !== undefined)
      return manifest.name === packageName && typeof manifest.version === "string"
        ? manifest.version
        : undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readManifest(path: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** Orders versions like semver: numeric parts, and a prerelease before its release. */
export function compareVersions(a: string, b: string): number {
  const [coreA = "", preA] = a.split(/-(.*)/s);
  const [coreB = "", preB] = b.split(/-(.*)/s);
  const partsA = coreA.split(".").map(Number);
  const partsB = coreB.split(".").map(Number);
  for (let index = 0; index < Math.max(partsA.length, partsB.length); index++) {
    const difference = (partsA[index] ?? 0) - (partsB[index] ?? 0);
    if (difference) return Math.sign(difference);
  }
  if (preA === preB) return 0;
  if (preA === undefined) return 1;
  if (preB === undefined) return -1;
  return preA.localeCompare(preB, "en", { numeric: true });
}

/**
 * Installs the verified version of an agent CLI into rig's cache with npm (reporting npm's output as
 * progress); a version already there is kept as it is, and nothing is downloaded.
 */
export async function installAgent(
  name: string,
  options: { env?: NodeJS.ProcessEnv; onProgress?: (message: string) => void } = {},
): Promise<AgentInstall> {
  const env = options.env ?? process.env;
  const pin = pinOf(name);
  const path = agentBin(name, env);
  const installed = { name, version: pin.version, path };
  if (existsSync(path)) return { ...installed, cached: true };
  // npm fills a hidden sibling that is renamed into place once complete: an interrupted or concurrent
  // install never leaves a folder that looks installed and is not.
  const prefix = join(agentsDir(env), `${name}-${pin.version}`);
  const partial = join(agentsDir(env), `.${name}-${pin.version}.${process.pid}.partial`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  writeFileSync(join(partial, "package.json"), '{ "private": true }\n');
  try {
    const spec = `${pin.package}@${pin.version}`;
    options.onProgress?.(`npm install ${spec}`);
    await runTool(
      ["npm", "install", "--prefix", partial, "--no-audit", "--no-fund", "--loglevel=error", spec],
      {
        env,
        onLine: options.onProgress,
      },
    );
    if (!existsSync(binIn(partial, pin))) throw new Error(`${spec} installed no \`${pin.bin}\``);
    if (!existsSync(path)) {
      rmSync(prefix, { recursive: true, force: true });
      renameSync(partial, prefix);
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return { ...installed, cached: false };
}
