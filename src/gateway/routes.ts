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
  /** The model a route names in its path (Gemini's `/v1beta/models/{model}:…`), not in its body. */
  model?: string;
  /** The route streams by what it is (Gemini's `:streamGenerateContent`), not by a body flag. */
  stream?: boolean;
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

/** Gemini's methods, by the name a path ends with, and the route names the ledger records. */
const GEMINI_METHODS: Readonly<Record<string, { name: string; stream?: boolean }>> = {
  generateContent: { name: "generate_content" },
  streamGenerateContent: { name: "stream_generate_content", stream: true },
  countTokens: { name: "count_tokens" },
};

/** The dialect of the SSE stream a route answers with (embeddings never stream; Chat is the fallback). */
export type StreamDialect = "chat" | "messages" | "responses" | "completions" | "gemini";

export function streamDialectOf(route: Route): StreamDialect {
  return route.dialect === "embeddings" ? "chat" : route.dialect;
}

const isGeminiPath = (path: string) => /^(\/agents\/[^/]+)?\/v1beta(\/|$)/.test(path);

/** How errors on a path are shaped: by its route's dialect, else by what the path looks like. */
export function errorDialectOf(route: Route | undefined, path: string): ErrorDialect {
  if (route?.dialect === "gemini" || isGeminiPath(path)) return "google";
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
  /** A model list: OpenAI's shape, or Google's (`listing: "gemini"`). */
  | { kind: "models"; agent?: Agent; listing?: "gemini" }
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
  if (isGeminiPath(rest)) return matchGeminiRoute(method, rest, agent);
  if (!rest.startsWith("/v1/") && rest !== "/v1") {
    if (!agentMatch) return { kind: "none" };
    return {
      kind: "refuse",
      status: 404,
      dialect: "openai",
      message: `no route ${method} ${path}: agent routes live under /agents/<agent>/v1/ (or /v1beta/ for Gemini)`,
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

/** Gemini's routes: the model and the method are in the path (`/v1beta/models/{model}:generateContent`). */
function matchGeminiRoute(method: string, path: string, agent: Agent | undefined): RouteMatch {
  if (path === "/v1beta/models" && method === "GET") return { kind: "models", agent, listing: "gemini" };
  const refuse = (status: number, message: string): RouteMatch => ({
    kind: "refuse",
    status,
    dialect: "google",
    message,
  });
  const call = /^\/v1beta\/models\/(.+):([A-Za-z]+)$/.exec(path);
  const known = call && Object.hasOwn(GEMINI_METHODS, call[2]!) ? GEMINI_METHODS[call[2]!] : undefined;
  if (!call || !known)
    return refuse(
      404,
      `no route ${method} ${path}; rig serves POST /v1beta/models/{model}:${Object.keys(GEMINI_METHODS).join("|:")} and GET /v1beta/models`,
    );
  if (method !== "POST") return refuse(405, `${path} takes POST`);
  const model = decodedName(call[1]!);
  if (typeof model !== "string") return refuse(400, model.message);
  return {
    kind: "exchange",
    route: { path, dialect: "gemini", ...known, model: model.replace(/^models\//, "") },
    agent,
    dialect: "google",
  };
}
