import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { runtimeFor } from "../runtimes/index.ts";
import { writeFileAtomic } from "../system/atomic-write.ts";
import { LONGEST_TIMER_MS, parseDuration, parseSize } from "./duration.ts";
import { expandTilde, type HomePaths, homePaths, resolveConfigPath } from "./home.ts";
import type { Parsed } from "./parse.ts";
import { ConfigError, didYouMean, type KeyPath, type Problem, type SourcePosition } from "./problems.ts";
import type { AgentConfig, RawConfig, ServerConfig } from "./schema.ts";

export interface Server extends ServerConfig {
  name: string;
  /** model: resolved to an absolute path where the runtime takes a path. */
  modelPath?: string;
  ttlMs: number;
  /** `memory:` in bytes: what the profile says it takes, instead of rig's estimate. */
  memoryBytes?: number;
  startTimeoutMs: number;
  responseTimeoutMs: number;
  /** Hash of everything that shapes this server's launch: a change means a restart on next use. */
  profileHash: string;
}

/** Another gateway (or OpenAI/Anthropic-compatible server) whose models route here as `<name>/<model>`. */
export interface Peer {
  name: string;
  /** The base URL without a trailing slash. */
  url: string;
  apiKey?: string;
  timeoutMs: number;
}

/** A host running llama.cpp's rpc-server. */
export interface Worker {
  name: string;
  host: string;
  port: number;
}

export interface Agent extends AgentConfig {
  name: string;
}

export interface Config {
  home: HomePaths;
  /** Every file the config was read from, the main rig.yaml first. */
  files: string[];
  gateway: {
    host: string;
    port: number;
    apiKey?: string;
    bodyLimitBytes: number;
    allowedHosts: string[];
    corsOrigins: string[];
    insecureNoKey: boolean;
  };
  paths: { models: string[]; bin: string };
  /** What servers may take together; `auto` reads the machine. */
  memory: { gpu: "auto" | number; ram: "auto" | number; reserve: number };
  runtimes: Partial<Record<string, { command: string[] }>>;
  harnesses: Partial<Record<string, { command: string[] }>>;
  peers: Record<string, Peer>;
  workers: Record<string, Worker>;
  servers: Record<string, Server>;
  agents: Record<string, Agent>;
  /** Hash of the merged config, recorded with every launch. */
  hash: string;
  /** Values expanded from `${env:NAME}` → that reference: what generated docs print instead of secrets. */
  expanded: Map<string, string>;
  /** Where a key path was written (file:line:col), walking up to the nearest written parent. */
  where(path: KeyPath): SourcePosition;
}

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
        message: `no rig.yaml in ${home.root}: run \`rig init\` (or \`rig demo\`), or point RIG_HOME / --home at your stack`,
      },
    ]);
  }
  const cached = options.text === undefined && !options.positions ? await readCache(home) : undefined;
  const parsed = cached ? undefined : (await import("./parse.ts")).parseConfig(home, env, options.text);
  const raw = cached?.raw ?? parsed!.raw;
  const files = cached?.files ?? parsed!.files;
  const where = parsed ? parsed.where : (): SourcePosition => ({ file: home.config, line: 0, col: 0 });
  const config = resolve(raw, home, files, where, parsed?.expanded ?? new Map());
  const semantic = [...checkReferences(config), ...checkTimers(config)];
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
    hash: hashOf(raw),
    expanded,
    where,
  };
}

/** Resolves a model name (server name or alias) to its server profile. */
export function findServer(config: Config, model: string): Server | undefined {
  // Own properties only: `__proto__` or `constructor` as a model name is unknown, not an object.
  if (Object.hasOwn(config.servers, model)) return config.servers[model];
  return Object.values(config.servers).find((server) => server.aliases.includes(model));
}

/** Splits `<peer>/<model>` when the part before the first slash names a peer; a model name may hold slashes itself. */
export function peerModel(config: Config, model: string): { peer: Peer; model: string } | undefined {
  const slash = model.indexOf("/");
  if (slash <= 0) return undefined;
  const name = model.slice(0, slash);
  if (!Object.hasOwn(config.peers, name)) return undefined;
  return { peer: config.peers[name]!, model: model.slice(slash + 1) };
}

/**
 * Durations rig cannot time: a timer longer than 24.8 days would fire at once (a ttl that unloads after
 * every request, a timeout that cuts every stream), so they are refused rather than shortened.
 */
function checkTimers(config: Config): Problem[] {
  const days = Math.floor(LONGEST_TIMER_MS / 8_640_000) / 10;
  const problems: Problem[] = [];
  for (const server of Object.values(config.servers)) {
    const timers = [
      { key: ["ttl"], ms: server.ttlMs, written: server.ttl, zero: "0 keeps the server loaded" },
      {
        key: ["timeout", "start"],
        ms: server.startTimeoutMs,
        written: server.timeout.start,
        zero: "0 means no limit",
      },
      {
        key: ["timeout", "response"],
        ms: server.responseTimeoutMs,
        written: server.timeout.response,
        zero: "0 means no limit",
      },
    ];
    for (const { key, ms, written, zero } of timers) {
      if (ms <= LONGEST_TIMER_MS) continue;
      const path = ["servers", server.name, ...key];
      problems.push({
        level: "error",
        code: "duration-too-long",
        message: `${key.join(".")} ${written} is longer than rig can time (${days} days at most); ${zero}`,
        path: path.join("."),
        where: config.where(path),
      });
    }
  }
  return problems;
}

/** Problems in how the profiles refer to each other: unknown servers, clashing aliases, clashing ports. */
export function checkReferences(config: Config): Problem[] {
  const problems: Problem[] = [];
  const routeNames = new Map<string, string>();
  for (const server of Object.values(config.servers)) routeNames.set(server.name, `servers.${server.name}`);
  for (const server of Object.values(config.servers)) {
    server.aliases.forEach((alias, index) => {
      const owner = routeNames.get(alias);
      if (owner) {
        problems.push({
          level: "error",
          code: "duplicate-alias",
          message: `alias \`${alias}\` is already used by ${owner}; a model name must route to one server`,
          path: `servers.${server.name}.aliases`,
          where: config.where(["servers", server.name, "aliases", index]),
        });
      } else {
        routeNames.set(alias, `servers.${server.name}.aliases`);
      }
    });
  }
  problems.push(...checkHops(config, routeNames));
  for (const agent of Object.values(config.agents)) {
    if (!findServer(config, agent.server) && !peerModel(config, agent.server)) {
      problems.push({
        level: "error",
        code: "unknown-server",
        message: `unknown server \`${agent.server}\`${didYouMean(agent.server, routeNames.keys())}`,
        path: `agents.${agent.name}.server`,
        where: config.where(["agents", agent.name, "server"]),
      });
    }
  }
  const portOwners = new Map<number, Server>();
  for (const server of Object.values(config.servers)) {
    if (server.port === undefined) continue;
    if (server.port === config.gateway.port) {
      problems.push({
        level: "error",
        code: "port-clash",
        message: `port ${server.port} is the gateway's port; pick another or leave \`port:\` out to get a free one`,
        path: `servers.${server.name}.port`,
        where: config.where(["servers", server.name, "port"]),
      });
    }
    const other = portOwners.get(server.port);
    const sameGroup = other?.group !== undefined && other.group === server.group;
    const shared = other && runtimeFor(other.runtime).sharedProcess && other.runtime === server.runtime;
    if (other && !sameGroup && !shared) {
      const first = config.where(["servers", other.name, "port"]);
      problems.push({
        level: "error",
        code: "port-clash",
        message: `port ${server.port} is also used by servers.${other.name} (${first.file}:${first.line}:${first.col}); two servers that can run together need different ports (or the same group)`,
        path: `servers.${server.name}.port`,
        where: config.where(["servers", server.name, "port"]),
      });
    }
    if (!other) portOwners.set(server.port, server);
  }
  return problems;
}

/** Problems in what a server reaches beyond itself: fallbacks, rpc workers, multi-node plans. */
function checkHops(config: Config, routeNames: Map<string, string>): Problem[] {
  const problems: Problem[] = [];
  const problem = (code: string, message: string, path: KeyPath) =>
    problems.push({ level: "error", code, message, path: path.join("."), where: config.where(path) });
  for (const server of Object.values(config.servers)) {
    const acrossHosts = runtimeFor(server.runtime).acrossHosts;
    server.fallback.forEach((target, index) => {
      const path = ["servers", server.name, "fallback", index];
      const local = findServer(config, target);
      if (local === server) problem("fallback-self", `\`${target}\` is this server itself`, path);
      else if (!local && !peerModel(config, target)) {
        const peerHint = target.includes("/")
          ? ` (no peer \`${target.slice(0, target.indexOf("/"))}\` in \`peers:\`)`
          : didYouMean(target, routeNames.keys());
        problem("unknown-server", `unknown server \`${target}\`${peerHint}`, path);
      }
    });
    if (server.rpc.length && acrossHosts !== "rpc")
      problem("rpc-runtime", `\`rpc:\` is only for llama.cpp servers (rpc-server workers)`, [
        "servers",
        server.name,
        "rpc",
      ]);
    if (server.tensor_split && acrossHosts !== "rpc")
      problem("rpc-runtime", `\`tensor_split:\` is only for llama.cpp servers`, [
        "servers",
        server.name,
        "tensor_split",
      ]);
    server.rpc.forEach((worker, index) => {
      if (!Object.hasOwn(config.workers, worker))
        problem(
          "unknown-worker",
          `unknown worker \`${worker}\`${didYouMean(worker, Object.keys(config.workers))}; name it in \`workers:\` (host, port)`,
          ["servers", server.name, "rpc", index],
        );
    });
    if (server.nodes.length && acrossHosts !== "nodes")
      problem("nodes-runtime", `\`nodes:\` is only for vllm servers (a multi-node plan)`, [
        "servers",
        server.name,
        "nodes",
      ]);
  }
  return problems;
}
