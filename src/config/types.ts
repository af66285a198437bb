// The config as rig uses it: rig.yaml resolved (paths absolute, durations in ms, secrets expanded).
import type { HomePaths } from "./home.ts";
import type { KeyPath, SourcePosition } from "./problems.ts";
import type { AgentConfig, ServerConfig } from "./schema.ts";

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
  /**
   * The home's key for its runtimes' own ports (`state/runtime.key`, made by the daemon): servers that
   * take one require it, and only rig sends it. Undefined until a daemon has run.
   */
  runtimeKey?: string;
  /** Hash of the merged config, recorded with every launch. */
  hash: string;
  /** Values expanded from `${env:NAME}` → that reference: what generated docs print instead of secrets. */
  expanded: Map<string, string>;
  /** Where a key path was written (file:line:col), walking up to the nearest written parent. */
  where(path: KeyPath): SourcePosition;
}
