import type { RequestRules } from "../../config/schema.ts";
import type { RequestRow, StatsKey, StatsRow } from "../../ledger/ledger.ts";
import type { ServerStatus } from "../../supervisor/status.ts";

// What the page and the daemon say to each other: the admin routes the page reads and the JSON they
// answer. The browser bundle imports this file, so it holds types, paths and constants only.

export type { RequestRow, RequestRules, ServerStatus, StatsRow };

export const PAGE_ROUTES = {
  /** SSE: `servers` (a ServersSnapshot) on connect and on every change, `request` (a RequestRow) per request. */
  events: "/rig/v1/events",
  /** JSON RequestRow[], latest first; `?server=&agent=&limit=`. */
  requests: "/rig/v1/requests",
  /** JSON StatsRow[] per agent and server (`rig stats`); `?since=` an ISO time. */
  stats: "/rig/v1/stats",
  /** JSON StackView: the servers and agents as configured. */
  stack: "/rig/v1/stack",
  /** JSON InventoryView: the model files under paths.models. */
  inventory: "/rig/v1/inventory",
} as const;

/** What the stats route groups by: the page shows agents side by side, each on its server. */
export const SIDE_BY_SIDE_KEYS: readonly StatsKey[] = ["agent", "server"];

/** SSE: `lines` (LogLines) with the log's last lines on connect, then every line appended. */
export function logEventsPath(name: string): string {
  return `/rig/v1/logs/${encodeURIComponent(name)}/events`;
}

/** The name the live log uses for the gateway's own log. */
export const GATEWAY_LOG = "gateway";

/** The header state-changing admin routes need; the page has the token from its own HTML. */
export const ADMIN_TOKEN_HEADER = "x-rig-admin-token";
export const ADMIN_TOKEN_META = "rig-admin-token";

export interface ServersSnapshot {
  /** When the snapshot was taken (ms since the epoch): uptime and ttl count from here. */
  at: number;
  config_hash: string;
  servers: ServerStatus[];
}

export interface LogLines {
  lines: string[];
  /** The file was rotated (or replaced) before these lines. */
  rotated: boolean;
}

export interface ServerView {
  name: string;
  runtime: string;
  model: string | null;
  context: number | null;
  ttl: string | null;
  group: string | null;
  aliases: string[];
  request: RequestRules;
}

/** One hop of `rig explain <agent>`. */
export interface ChainHop {
  step: string;
  lines: string[];
}

export interface AgentView {
  name: string;
  harness: string;
  server: string;
  /** The shim: the one word that runs the agent. */
  shim: { path: string; exists: boolean };
  request: RequestRules;
  chain: ChainHop[];
}

export interface StackView {
  home: string;
  version: string;
  config_hash: string;
  servers: ServerView[];
  agents: AgentView[];
}

export interface ModelView {
  path: string;
  name: string;
  format: string;
  source: string;
  arch: string | null;
  params: string | null;
  quant: string | null;
  context: number | null;
  size: number;
  used_by: string[];
  duplicate_of: string | null;
  links: string[];
  error: string | null;
}

export interface DuplicateView {
  keep: string;
  copies: string[];
  size: number;
  reclaimable: number;
  verified: boolean;
}

export interface InventoryView {
  roots: string[];
  models: ModelView[];
  duplicates: DuplicateView[];
}
