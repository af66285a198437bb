import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { isLoopbackHost } from "../system/loopback.ts";

/** Who may talk to the gateway: derived from rig.yaml and the machine once per config. */
export interface AccessPolicy {
  /** Host names (lower case, no port) served besides loopback ones. */
  hosts: ReadonlySet<string>;
  /** The gateway's port: rig's own page is an origin on a served host at this port. */
  port: number;
  /** Browser origins allowed besides rig's own page (`http://<served host>:<port>`). */
  corsOrigins: ReadonlySet<string>;
  apiKey?: string;
  /** The per-home token the CLI sends for admin routes that change state. */
  adminToken?: string;
  /** The cookie rig's page signs in with (set by its login when an api key is set): it counts as the key. */
  keyCookie?: { name: string; value: string };
}

/**
 * Paths served without the api key: the liveness check, and the page's sign-in where the key is typed
 * with its stylesheet (the same bytes as in rig's package).
 */
const OPEN_PATHS = new Set(["/health", "/ui/login", "/ui/style.css"]);

export interface GuardRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/** A refusal, before the body is read or anything is started. */
export interface Refusal {
  status: 401 | 403;
  message: string;
}

function hostnameOf(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  const colons = host.split(":").length - 1;
  return (colons === 1 ? host.slice(0, host.lastIndexOf(":")) : host).toLowerCase();
}

function hostAllowed(host: string | undefined, policy: AccessPolicy): boolean {
  if (!host) return false;
  const name = hostnameOf(host);
  return isLoopbackHost(name) || policy.hosts.has(name);
}

/**
 * An origin is rig's own page when it is on a host the gateway serves at the gateway's port: a page
 * from another local port (a dev server, another tool) is another origin.
 */
function originAllowed(origin: string, policy: AccessPolicy): boolean {
  if (policy.corsOrigins.has(origin)) return true;
  try {
    const url = new URL(origin);
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    return (
      (url.protocol === "http:" || url.protocol === "https:") &&
      port === policy.port &&
      hostAllowed(url.host, policy)
    );
  } catch {
    return false;
  }
}

function presentedKey(headers: IncomingHttpHeaders, query: URLSearchParams): string[] {
  const keys: string[] = [];
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? "")?.[1];
  if (bearer) keys.push(bearer.trim());
  for (const name of ["x-api-key", "x-goog-api-key"]) {
    const value = headers[name];
    if (typeof value === "string") keys.push(value);
  }
  const fromQuery = query.get("key");
  if (fromQuery) keys.push(fromQuery);
  return keys;
}

/** The value of one cookie of the request's Cookie header. */
function cookieValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  for (const pair of (headers.cookie ?? "").split(";")) {
    const separator = pair.indexOf("=");
    if (separator !== -1 && pair.slice(0, separator).trim() === name) return pair.slice(separator + 1).trim();
  }
  return undefined;
}

function same(presented: string, secret: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether any credential the request carries is the api key (every header is checked, not just the
 * first), or the page's sign-in cookie stands for it.
 */
export function hasApiKey(
  request: GuardRequest,
  query: URLSearchParams,
  apiKey: string,
  keyCookie?: AccessPolicy["keyCookie"],
): boolean {
  if (presentedKey(request.headers, query).some((key) => same(key, apiKey))) return true;
  if (!keyCookie) return false;
  const cookie = cookieValue(request.headers, keyCookie.name);
  return cookie !== undefined && same(cookie, keyCookie.value);
}

/** Admin routes that change state: start, stop, shutdown. Reading status and logs is open like /v1/models. */
export function changesState(method: string, path: string): boolean {
  return path.startsWith("/rig/v1/") && method !== "GET" && method !== "HEAD" && method !== "OPTIONS";
}

/**
 * Decides whether a request may proceed: its Host must be one the gateway serves (DNS rebinding),
 * a browser Origin must be rig's own page or configured, a cross-site request without an Origin
 * (an `<img>`, a form) is refused, the api key is checked when set, and admin routes that change
 * state need the admin token or the key. Pure: headers in, refusal or nothing out.
 */
export function guard(
  request: GuardRequest,
  query: URLSearchParams,
  policy: AccessPolicy,
): Refusal | undefined {
  const { headers } = request;
  if (!hostAllowed(headers.host, policy)) {
    return {
      status: 403,
      message: `host \`${String(headers.host ?? "").slice(0, 100)}\` is not served by this gateway: add it to gateway.allowed_hosts in rig.yaml if you reach rig by that name`,
    };
  }
  const origin = headers.origin;
  if (origin !== undefined && !originAllowed(origin, policy)) {
    return {
      status: 403,
      message: `browser origin \`${origin.slice(0, 200)}\` may not use this gateway: add it to gateway.cors_origins in rig.yaml to allow it`,
    };
  }
  if (origin === undefined && headers["sec-fetch-site"] === "cross-site") {
    return { status: 403, message: "a cross-site browser request may not use this gateway" };
  }
  const keyed = policy.apiKey !== undefined && hasApiKey(request, query, policy.apiKey, policy.keyCookie);
  if (policy.apiKey !== undefined && !keyed && !OPEN_PATHS.has(request.path)) {
    return {
      status: 401,
      message:
        "missing or wrong API key: send the gateway.api_key as `Authorization: Bearer <key>` or `x-api-key`",
    };
  }
  if (changesState(request.method, request.path) && !keyed) {
    const token = headers["x-rig-admin-token"];
    if (!policy.adminToken || typeof token !== "string" || !same(token, policy.adminToken)) {
      return {
        status: 403,
        message:
          "this admin route needs the home's admin token (the rig CLI sends it from state/admin.token) or the api key",
      };
    }
  }
  return undefined;
}

/** CORS response headers for an allowed cross-origin browser request. */
export function corsHeaders(origin: string | undefined, policy: AccessPolicy): Record<string, string> {
  if (!origin || !policy.corsOrigins.has(origin)) return {};
  return {
    "access-control-allow-origin": origin,
    vary: "Origin",
    "access-control-allow-headers":
      "authorization, content-type, x-api-key, anthropic-version, anthropic-beta, x-goog-api-key",
    "access-control-allow-methods": "GET, POST, OPTIONS",
  };
}
