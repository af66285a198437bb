import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import { globSync } from "tinyglobby";
import {
  type Document,
  isCollection,
  isMap,
  isScalar,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from "yaml";
import type { ZodType } from "zod";
import { runtimeFor } from "../runtimes/index.ts";
import { parseDuration, parseSize } from "./duration.ts";
import { expandTilde, type HomePaths, homePaths, resolveConfigPath } from "./home.ts";
import { ConfigError, didYouMean, nearest, type Problem, type SourcePosition } from "./problems.ts";
import {
  type AgentConfig,
  configSchema,
  MERGED_SECTIONS,
  type RawConfig,
  type ServerConfig,
} from "./schema.ts";

export type KeyPath = readonly (string | number)[];

export interface Server extends ServerConfig {
  name: string;
  /** model: resolved to an absolute path where the runtime takes a path. */
  modelPath?: string;
  ttlMs: number;
  startTimeoutMs: number;
  responseTimeoutMs: number;
  /** Hash of everything that shapes this server's launch: a change means a restart on next use. */
  profileHash: string;
}

export interface Agent extends AgentConfig {
  name: string;
}

export interface Config {
  home: HomePaths;
  /** Every file the config was read from, the main rig.yaml first. */
  files: string[];
  gateway: { host: string; port: number; apiKey?: string; bodyLimitBytes: number };
  paths: { models: string[]; bin: string };
  runtimes: Partial<Record<string, { command: string[] }>>;
  harnesses: Partial<Record<string, { command: string[] }>>;
  servers: Record<string, Server>;
  agents: Record<string, Agent>;
  /** Hash of the merged config, recorded with every launch. */
  hash: string;
  /** Where a key path was written (file:line:col), walking up to the nearest written parent. */
  where(path: KeyPath): SourcePosition;
}

interface ParsedFile {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

const ENV_REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function position(parsed: ParsedFile, offset: number): SourcePosition {
  const { line, col } = parsed.lines.linePos(offset);
  return { file: parsed.file, line, col };
}

function readSource(file: string, problems: Problem[]): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    problems.push({
      level: "error",
      code: "config-unreadable",
      message: `cannot read ${file}: ${(error as Error).message}`,
    });
    return undefined;
  }
}

/** Parses one YAML file and expands `${env:NAME}` in its scalars, reporting problems with positions. */
function parseSource(
  file: string,
  text: string,
  env: NodeJS.ProcessEnv,
  problems: Problem[],
): ParsedFile | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const parsed = { file, doc, lines };
  for (const error of doc.errors) {
    problems.push({
      level: "error",
      code: "yaml-syntax",
      message: error.message.split("\n")[0]!,
      where: position(parsed, error.pos[0]),
    });
  }
  if (doc.errors.length > 0) return undefined;
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value !== "string" || !node.value.includes("${env:")) return;
      node.value = node.value.replace(ENV_REFERENCE, (whole, name: string, fallback: string | undefined) => {
        const value = env[name];
        if (value !== undefined && value !== "") return value;
        if (fallback !== undefined) return fallback;
        problems.push({
          level: "error",
          code: "env-unset",
          message: `environment variable ${name} is not set (export it, or write \${env:${name}:-default})`,
          where: position(parsed, node.range?.[0] ?? 0),
        });
        return whole;
      });
    },
  });
  return parsed;
}

function parseFile(file: string, env: NodeJS.ProcessEnv, problems: Problem[]): ParsedFile | undefined {
  const text = readSource(file, problems);
  return text === undefined ? undefined : parseSource(file, text, env, problems);
}

function keyPosition(
  parsed: ParsedFile,
  map: unknown,
  key: string | number | undefined,
): SourcePosition | undefined {
  if (key === undefined || !isMap(map)) return undefined;
  const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
  return pair && isScalar(pair.key) && pair.key.range ? position(parsed, pair.key.range[0]) : undefined;
}

/**
 * Where a key path was written: a scalar's value, a mapping's or list's key (`servers.a` points at
 * `a:`), or `keyOf` inside a mapping. A path that is not written points at its nearest written parent.
 */
function locate(parsed: ParsedFile, path: KeyPath, keyOf?: string): SourcePosition {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = parsed.doc.getIn(path.slice(0, depth), true) as Node | undefined;
    if (!node?.range) continue;
    const childKey = depth === path.length ? keyOf : path[depth];
    const inside = keyPosition(parsed, node, childKey);
    if (inside) return inside;
    if (depth === path.length && depth > 0 && isCollection(node)) {
      const own = keyPosition(parsed, parsed.doc.getIn(path.slice(0, depth - 1), true), path[depth - 1]);
      if (own) return own;
    }
    return position(parsed, node.range[0]);
  }
  return { file: parsed.file, line: 1, col: 1 };
}

/** Keys the schema accepts at a path, for "did you mean" hints. */
function knownKeysAt(schema: ZodType, path: KeyPath): string[] {
  // biome-ignore lint/suspicious/noExplicitAny: walking zod's internal definition tree
  let def: any = schema._zod.def;
  const unwrap = () => {
    while (["default", "optional", "nullable", "pipe", "prefault"].includes(def.type)) {
      def = (def.innerType ?? def.in)._zod.def;
    }
  };
  unwrap();
  for (const segment of path) {
    if (def.type === "object") def = def.shape[segment]?._zod.def;
    else if (def.type === "record") def = def.valueType._zod.def;
    else if (def.type === "array") def = def.element._zod.def;
    else return [];
    if (!def) return [];
    unwrap();
  }
  return def.type === "object" ? Object.keys(def.shape) : [];
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
}

/** Reads rig.yaml and its includes, validates everything, and returns the resolved config or throws ConfigError with every problem. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const home = homePaths(options.home, env);
  const problems: Problem[] = [];
  if (options.text === undefined && !existsSync(home.config)) {
    throw new ConfigError([
      {
        level: "error",
        code: "config-missing",
        message: `no rig.yaml in ${home.root}: run \`rig init\` (or \`rig demo\`), or point RIG_HOME / --home at your stack`,
      },
    ]);
  }
  const mainText = options.text ?? readSource(home.config, problems);
  const mainParsed = mainText === undefined ? undefined : parseSource(home.config, mainText, env, problems);
  if (!mainParsed) throw new ConfigError(problems);

  const merged = (mainParsed.doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof merged !== "object" || Array.isArray(merged)) {
    throw new ConfigError([
      {
        level: "error",
        code: "config-shape",
        message: "rig.yaml must be a mapping of keys",
        where: locate(mainParsed, []),
      },
    ]);
  }
  for (const [key, value] of Object.entries(merged)) if (value === null) delete merged[key];
  const origins = new Map<string, ParsedFile>();
  const originKey = (section: string, name: string) => `${section}\u0000${name}`;
  for (const section of MERGED_SECTIONS) {
    const entries = merged[section];
    if (entries && typeof entries === "object") {
      for (const entryName of Object.keys(entries)) origins.set(originKey(section, entryName), mainParsed);
    }
  }

  const files = [mainParsed.file];
  const includes = Array.isArray(merged.include)
    ? merged.include.filter((item) => typeof item === "string")
    : [];
  for (const pattern of includes) {
    const matches = globSync(expandTilde(pattern), { cwd: home.root, absolute: true }).sort();
    if (matches.length === 0 && !/[*?[{]/.test(pattern)) {
      problems.push({
        level: "error",
        code: "include-missing",
        message: `included file ${pattern} does not exist`,
        where: locate(mainParsed, ["include", includes.indexOf(pattern)]),
      });
    }
    for (const file of matches) {
      const parsed = parseFile(file, env, problems);
      if (!parsed) continue;
      files.push(file);
      const content = (parsed.doc.toJS() ?? {}) as Record<string, unknown>;
      for (const [section, entries] of Object.entries(content)) {
        if (!(MERGED_SECTIONS as readonly string[]).includes(section)) {
          problems.push({
            level: "error",
            code: "include-section",
            message: `an included file may only define ${MERGED_SECTIONS.join(", ")}; move \`${section}\` to rig.yaml`,
            where: locate(parsed, [], section),
          });
          continue;
        }
        if (!entries || typeof entries !== "object") continue;
        merged[section] ??= {};
        const target = merged[section] as Record<string, unknown>;
        for (const [entryName, value] of Object.entries(entries)) {
          const earlier = origins.get(originKey(section, entryName));
          if (earlier) {
            const first = locate(earlier, [section, entryName]);
            const second = locate(parsed, [section, entryName]);
            problems.push({
              level: "error",
              code: "duplicate-name",
              message: `${section}.${entryName} is defined twice: here and at ${first.file}:${first.line}:${first.col}`,
              where: second,
            });
            continue;
          }
          origins.set(originKey(section, entryName), parsed);
          target[entryName] = value;
        }
      }
    }
  }

  const fileFor = (path: KeyPath): ParsedFile => {
    const [section, entryName] = path;
    return (
      (typeof section === "string" &&
        typeof entryName === "string" &&
        origins.get(originKey(section, entryName))) ||
      mainParsed
    );
  };
  const where = (path: KeyPath, keyOf?: string) => locate(fileFor(path), path, keyOf);

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    // A misspelt key also makes its correct spelling "missing"; report the typo once, with the fix.
    const suggested = new Set<string>();
    for (const issue of result.error.issues) {
      if (issue.code !== "unrecognized_keys") continue;
      for (const key of issue.keys) {
        const suggestion = nearest(key, knownKeysAt(configSchema, issue.path as KeyPath));
        if (suggestion) suggested.add([...issue.path, suggestion].join("."));
        problems.push({
          level: "error",
          code: "unknown-key",
          message: `unknown key \`${key}\`${suggestion ? `; did you mean \`${suggestion}\`?` : ""}`,
          path: [...issue.path, key].join("."),
          where: where(issue.path as KeyPath, key),
        });
      }
    }
    for (const issue of result.error.issues) {
      if (issue.code === "unrecognized_keys") continue;
      const path = issue.path as KeyPath;
      if (suggested.has(path.join("."))) continue;
      let message = issue.message;
      if (issue.code === "invalid_value" && "values" in issue) {
        const written = path.reduce<unknown>(
          (value, key) => (value as Record<string, unknown>)?.[key],
          merged,
        );
        message = `\`${String(written)}\` is not one of ${issue.values.map(String).join(", ")}${didYouMean(String(written), issue.values.map(String))}`;
      } else if (issue.code === "invalid_type") {
        message = `expected ${issue.expected}${path.length ? "" : " mapping"}`;
      }
      problems.push({
        level: "error",
        code: "invalid-value",
        message,
        path: path.join("."),
        where: where(path),
      });
    }
    throw new ConfigError(problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const config = resolve(result.data, home, files, (path) => where(path));
  const semantic = checkReferences(config);
  if (semantic.some((problem) => problem.level === "error")) throw new ConfigError(semantic);
  return config;
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
      };
      const resolved: Server = {
        ...server,
        name,
        modelPath,
        ttlMs: server.ttl === undefined ? 0 : parseDuration(server.ttl),
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
  return {
    home,
    files,
    gateway: {
      host: raw.gateway.host,
      port: raw.gateway.port,
      apiKey: raw.gateway.api_key || undefined,
      bodyLimitBytes: parseSize(raw.gateway.body_limit),
    },
    paths: {
      models: raw.paths.models.map((path) => resolveConfigPath(path, home.root)),
      bin: resolveConfigPath(raw.paths.bin, home.root),
    },
    runtimes,
    harnesses,
    servers,
    agents,
    hash: hashOf(raw),
    where,
  };
}

/** Resolves a model name (server name or alias) to its server profile. */
export function findServer(config: Config, model: string): Server | undefined {
  return (
    config.servers[model] ?? Object.values(config.servers).find((server) => server.aliases.includes(model))
  );
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
  for (const agent of Object.values(config.agents)) {
    if (!findServer(config, agent.server)) {
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
