import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { runtimeFor } from "../runtimes/index.ts";
import { writeFileAtomic } from "../system/atomic-write.ts";
import { readHomeSecret } from "../system/home-secrets.ts";
import { checkConfig } from "./checks.ts";
import { parseDuration, parseSize } from "./duration.ts";
import { expandTilde, type HomePaths, homePaths, RUNTIME_KEY_FILE, resolveConfigPath } from "./home.ts";
import type { Parsed } from "./parse.ts";
import { ConfigError, type KeyPath, type SourcePosition } from "./problems.ts";
import type { RawConfig, ServerConfig } from "./schema.ts";
import type { Config, Server } from "./types.ts";

export { findServer, peerModel } from "./lookup.ts";
export type { Agent, Config, Peer, Server, Worker } from "./types.ts";

function toArgv(command: string | string[]): string[] {
  return typeof command === "string" ? [command] : command;
}

function hashOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

export interface LoadOptions {
  home?: string;
  env?: NodeJS.ProcessEnv;
  /** Load this text instead of reading rig.yaml (validating an edit before it is written). */
  text?: string;
  /** Parse for file:line:col positions even when the cache is fresh (doctor, explain, the daemon). */
  positions?: boolean;
}

/**
 * Reads rig.yaml and its includes, validates everything, and returns the resolved config, or throws
 * ConfigError with every problem. A fresh cache skips parsing; then `where` names only the file.
 */
export async function loadConfig(options: LoadOptions = {}): Promise<Config> {
  const env = options.env ?? process.env;
  const home = homePaths(options.home, env);
  if (options.text === undefined && !existsSync(home.config)) {
    throw new ConfigError([
      {
        level: "error",
        code: "config-missing",
        message: `no rig.yaml in ${home.root}: run \`rig init\` (or \`rig demo\`), or point RIG_HOME / --home at your stack (or run rig in its folder)`,
      },
    ]);
  }
  const cached = options.text === undefined && !options.positions ? await readCache(home) : undefined;
  const parsed = cached ? undefined : (await import("./parse.ts")).parseConfig(home, env, options.text);
  const raw = cached?.raw ?? parsed!.raw;
  const files = cached?.files ?? parsed!.files;
  const where = parsed ? parsed.where : (): SourcePosition => ({ file: home.config, line: 0, col: 0 });
  const config = resolve(raw, home, files, where, parsed?.expanded ?? new Map());
  const semantic = checkConfig(config);
  if (semantic.some((problem) => problem.level === "error")) throw new ConfigError(semantic);
  if (parsed && options.text === undefined) writeCache(home, parsed);
  return config;
}

// A validated config is cached in state/ keyed by the exact bytes of every file it was read from, so
// the commands a person types all day (ls, ps, run) skip YAML parsing and schema validation. Configs
// that reference ${env:…} are not cached: expanded secrets never land on disk. A literal api_key
// can still be in it, so only its owner may read it.
const CACHE_FORMAT = 2;

interface CacheEntry {
  format: number;
  version: string;
  files: string[];
  hashes: string[];
  includes: string[];
  raw: RawConfig;
}

function cacheFile(home: HomePaths): string {
  return join(home.state, "config.cache.json");
}

async function readCache(home: HomePaths): Promise<{ raw: RawConfig; files: string[] } | undefined> {
  let entry: CacheEntry;
  try {
    entry = JSON.parse(readFileSync(cacheFile(home), "utf8"));
  } catch {
    return undefined;
  }
  if (
    entry.format !== CACHE_FORMAT ||
    entry.version !== packageJson.version ||
    entry.files[0] !== home.config
  )
    return undefined;
  const globSync = entry.includes.length ? (await import("tinyglobby")).globSync : undefined;
  const included = entry.includes.flatMap((pattern) =>
    globSync!(expandTilde(pattern), { cwd: home.root, absolute: true }).sort(),
  );
  if (included.join("\0") !== entry.files.slice(1).join("\0")) return undefined;
  for (const [index, file] of entry.files.entries()) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return undefined;
    }
    if (hashOf(text) !== entry.hashes[index]) return undefined;
  }
  return { raw: entry.raw, files: entry.files };
}

function writeCache(home: HomePaths, parsed: Parsed): void {
  if (!existsSync(home.state) || parsed.texts.some((text) => text.includes("${env:"))) return;
  const entry: CacheEntry = {
    format: CACHE_FORMAT,
    version: packageJson.version,
    files: parsed.files,
    hashes: parsed.texts.map(hashOf),
    includes: parsed.raw.include,
    raw: parsed.raw,
  };
  try {
    writeFileAtomic(cacheFile(home), JSON.stringify(entry), { mode: 0o600 });
  } catch {}
}

const DEFAULT_RESPONSE_TIMEOUT_MS = 10 * 60_000;

function resolveModel(server: ServerConfig, home: string): string | undefined {
  if (!server.model) return undefined;
  const kind = runtimeFor(server.runtime).modelKind;
  if (kind === "path") return resolveConfigPath(server.model, home);
  if (kind === "path-or-id") {
    const looksLikePath =
      /^(~|\/|\.\.?\/)/.test(server.model) || existsSync(resolveConfigPath(server.model, home));
    return looksLikePath ? resolveConfigPath(server.model, home) : server.model;
  }
  return server.model;
}

function resolveCommand(command: string | string[], home: string): string[] {
  const [executable = "", ...rest] = toArgv(command);
  const resolved =
    executable.includes("/") && !isAbsolute(executable)
      ? resolveConfigPath(executable, home)
      : expandTilde(executable);
  return [resolved, ...rest];
}

function resolve(
  raw: RawConfig,
  home: HomePaths,
  files: string[],
  where: (path: KeyPath) => SourcePosition,
  expanded: Map<string, string>,
): Config {
  const runtimes = Object.fromEntries(
    Object.entries(raw.runtimes).map(([kind, value]) => [
      kind,
      { command: resolveCommand(value!.command, home.root) },
    ]),
  );
  const harnesses = Object.fromEntries(
    Object.entries(raw.harnesses).map(([harness, value]) => [
      harness,
      { command: resolveCommand(value!.command, home.root) },
    ]),
  );
  const servers = Object.fromEntries(
    Object.entries(raw.servers).map(([name, server]) => {
      const modelPath = resolveModel(server, home.root);
      const adapter = runtimeFor(server.runtime);
      const launchShape = {
        runtime: server.runtime,
        modelPath,
        url: server.url,
        command: server.command,
        args: server.args,
        host: server.host,
        port: server.port,
        env: server.env,
        context: server.context,
        executable: runtimes[server.runtime]?.command,
        rpc: server.rpc.map((worker) => raw.workers[worker] ?? worker),
        tensorSplit: server.tensor_split,
        nodes: server.nodes,
      };
      const resolved: Server = {
        ...server,
        name,
        modelPath,
        ttlMs: server.ttl === undefined ? 0 : parseDuration(server.ttl),
        memoryBytes: server.memory === undefined ? undefined : parseSize(server.memory),
        startTimeoutMs:
          server.timeout.start === undefined
            ? adapter.defaultStartTimeoutMs
            : parseDuration(server.timeout.start),
        responseTimeoutMs:
          server.timeout.response === undefined
            ? DEFAULT_RESPONSE_TIMEOUT_MS
            : parseDuration(server.timeout.response),
        profileHash: hashOf(launchShape),
      };
      return [name, resolved];
    }),
  );
  const agents = Object.fromEntries(
    Object.entries(raw.agents).map(([name, agent]) => [name, { ...agent, name }]),
  );
  const peers = Object.fromEntries(
    Object.entries(raw.peers).map(([name, peer]) => [
      name,
      {
        name,
        url: peer.url.replace(/\/+$/, ""),
        apiKey: peer.api_key || undefined,
        timeoutMs: peer.timeout === undefined ? DEFAULT_RESPONSE_TIMEOUT_MS : parseDuration(peer.timeout),
      },
    ]),
  );
  const workers = Object.fromEntries(
    Object.entries(raw.workers).map(([name, worker]) => [name, { name, ...worker }]),
  );
  return {
    home,
    files,
    gateway: {
      host: raw.gateway.host,
      port: raw.gateway.port,
      apiKey: raw.gateway.api_key || undefined,
      bodyLimitBytes: parseSize(raw.gateway.body_limit),
      allowedHosts: raw.gateway.allowed_hosts.map((host) => host.toLowerCase()),
      corsOrigins: raw.gateway.cors_origins,
      insecureNoKey: raw.gateway.insecure_no_key,
    },
    paths: {
      models: raw.paths.models.map((path) => resolveConfigPath(path, home.root)),
      bin: resolveConfigPath(raw.paths.bin, home.root),
    },
    memory: {
      gpu: raw.memory.gpu === "auto" ? "auto" : parseSize(raw.memory.gpu),
      ram: raw.memory.ram === "auto" ? "auto" : parseSize(raw.memory.ram),
      reserve: parseSize(raw.memory.reserve),
    },
    runtimes,
    harnesses,
    peers,
    workers,
    servers,
    agents,
    runtimeKey: readHomeSecret(home.state, RUNTIME_KEY_FILE),
    hash: hashOf(raw),
    expanded,
    where,
  };
}
