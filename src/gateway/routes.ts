import type { Agent, Config } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import type { Dialect } from "../runtimes/types.ts";
import type { ErrorDialect } from "./errors.ts";

/** A model route: the client's path, the dialect it speaks, and the name the ledger records. */
export interface Route {
  /** The upstream path, e.g. /v1/chat/completions. */
  path: string;
  dialect: Dialect;
  name: string;
}

export const ROUTES: Readonly<Record<string, Route>> = {
  "/v1/chat/completions": { path: "/v1/chat/completions", dialect: "chat", name: "chat" },
  "/v1/completions": { path: "/v1/completions", dialect: "completions", name: "completions" },
  "/v1/embeddings": { path: "/v1/embeddings", dialect: "embeddings", name: "embeddings" },
  "/v1/messages": { path: "/v1/messages", dialect: "messages", name: "messages" },
  "/v1/messages/count_tokens": {
    path: "/v1/messages/count_tokens",
    dialect: "messages",
    name: "count_tokens",
  },
  "/v1/responses": { path: "/v1/responses", dialect: "responses", name: "responses" },
};

/** The dialect of the SSE stream a route answers with (embeddings never stream; Chat is the fallback). */
export type StreamDialect = "chat" | "messages" | "responses" | "completions";

export function streamDialectOf(route: Route): StreamDialect {
  return route.dialect === "embeddings" ? "chat" : route.dialect;
}

export function errorDialectOf(route: Route | undefined, path: string): ErrorDialect {
  return route?.dialect === "messages" || path.includes("/messages") ? "anthropic" : "openai";
}

/** Names rig looks up are at most this long: longer ones are refused before any lookup or log line. */
export const NAME_MAX_LENGTH = 256;

/** A name taken from a path segment, or why it cannot be one. */
export function decodedName(segment: string): string | { message: string } {
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    return { message: `malformed %-escape in the path segment \`${segment.slice(0, 64)}\`` };
  }
  if (name.length > NAME_MAX_LENGTH)
    return {
      message: `a name in the path is ${name.length} characters long; names have at most ${NAME_MAX_LENGTH}`,
    };
  return name;
}

/** What the gateway does with a request path, decided before the body is read. */
export type RouteMatch =
  | { kind: "none" }
  | { kind: "models"; agent?: Agent }
  | { kind: "exchange"; route: Route; agent?: Agent; dialect: ErrorDialect }
  | { kind: "refuse"; status: number; dialect: ErrorDialect; message: string };

/** `/v1/...` routed by the body's model, `/agents/<agent>/v1/...` pinned to that agent's server. */
export function matchRoute(method: string, path: string, config: Config): RouteMatch {
  let agent: Agent | undefined;
  let rest = path;
  const agentMatch = /^\/agents\/([^/]+)(\/.*)?$/.exec(path);
  if (agentMatch) {
    rest = agentMatch[2] ?? "/";
    const name = decodedName(agentMatch[1]!);
    if (typeof name !== "string")
      return { kind: "refuse", status: 400, dialect: errorDialectOf(ROUTES[rest], rest), ...name };
    agent = Object.hasOwn(config.agents, name) ? config.agents[name] : undefined;
    if (!agent) {
      const names = Object.keys(config.agents);
      return {
        kind: "refuse",
        status: 404,
        dialect: errorDialectOf(ROUTES[rest], rest),
        message: `no agent named \`${name}\`${didYouMean(name, names)}; agents: ${names.join(", ") || "none"}`,
      };
    }
  }
  if (!rest.startsWith("/v1/") && rest !== "/v1") {
    if (!agentMatch) return { kind: "none" };
    return {
      kind: "refuse",
      status: 404,
      dialect: "openai",
      message: `no route ${method} ${path}: agent routes live under /agents/<agent>/v1/`,
    };
  }
  if (rest === "/v1/models" && method === "GET") return { kind: "models", agent };
  const route = ROUTES[rest];
  const dialect = errorDialectOf(route, rest);
  if (!route || method !== "POST") {
    return {
      kind: "refuse",
      status: route ? 405 : 404,
      dialect,
      message: route
        ? `${rest} takes POST`
        : `no route ${method} ${rest}; rig serves ${Object.keys(ROUTES).join(", ")} and GET /v1/models`,
    };
  }
  return { kind: "exchange", route, agent, dialect: errorDialectOf(route, path) };
}
