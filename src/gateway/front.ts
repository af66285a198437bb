import { createHmac } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { hostname, networkInterfaces } from "node:os";
import type { Config } from "../config/loader.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import { isLoopbackHost } from "../system/loopback.ts";
import { type BenchDesk, type DaemonInfo, handleAdmin } from "./admin.ts";
import { sendError } from "./errors.ts";
import { type AccessPolicy, corsHeaders, guard, hasApiKey } from "./guard.ts";
import { sendJson } from "./http.ts";
import type { ModelProxy } from "./proxy.ts";
import type { Recorder } from "./recorder.ts";
import { errorDialectOf } from "./routes.ts";

/** Binds on every address: the Host names served are the machine's own addresses and name. */
const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);

/** Who may use the gateway under this config (reads the machine's addresses for a wildcard bind). */
export function accessPolicy(config: Config, adminToken: string): AccessPolicy {
  const { gateway } = config;
  const hosts = new Set(gateway.allowedHosts);
  const bind = gateway.host.toLowerCase();
  if (!WILDCARDS.has(bind)) hosts.add(bind.replace(/^\[|\]$/g, ""));
  else {
    hosts.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces()))
      for (const address of addresses ?? []) hosts.add(address.address.toLowerCase());
  }
  return {
    port: gateway.port,
    hosts,
    corsOrigins: new Set(gateway.corsOrigins),
    apiKey: gateway.apiKey,
    adminToken,
    keyCookie: gateway.apiKey ? pageKeyCookie(gateway.apiKey, gateway.port, adminToken) : undefined,
  };
}

/**
 * The cookie rig's page signs in with. It holds a value derived from the key and the home's admin
 * token, never the key: browsers send a host's cookies to every port of it, so another local server
 * would see it. Named by port, so two gateways on one host keep their own.
 */
function pageKeyCookie(apiKey: string, port: number, adminToken: string): { name: string; value: string } {
  const value = createHmac("sha256", adminToken).update(`rig page sign-in\0${apiKey}`).digest("base64url");
  return { name: `rig_key_${port}`, value };
}

/** Why this config may not be served as is: listening beyond loopback needs a key or an explicit opt-out. */
export function bindingProblem(config: Config): string | undefined {
  const { host, apiKey, insecureNoKey } = config.gateway;
  if (isLoopbackHost(host.toLowerCase().replace(/^\[|\]$/g, "")) || apiKey || insecureNoKey) return undefined;
  return `gateway.host is ${host}: listening beyond loopback without gateway.api_key lets anyone who reaches this machine use your models and stop your servers; set gateway.api_key (e.g. \${env:RIG_API_KEY}), or gateway.insecure_no_key: true to accept that`;
}

function isPagePath(path: string): boolean {
  return path === "/ui" || path.startsWith("/ui/");
}

function signInFirst(res: ServerResponse): void {
  res.writeHead(303, { location: "/ui/login", "cache-control": "no-store" });
  res.end();
}

export interface FrontDeps {
  config(): Config;
  policy(): AccessPolicy;
  supervisor: Supervisor;
  proxy: ModelProxy;
  recorder: Recorder;
  info: DaemonInfo;
  bench: BenchDesk;
}

/**
 * Every request enters here: the guard decides before any body is read, then health, metrics, the
 * admin API and the model routes.
 */
export function frontDoor(deps: FrontDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { supervisor, proxy, recorder, info, bench } = deps;
  return async (req, res) => {
    const [path = "/", query = ""] = (req.url ?? "/").split("?", 2);
    const method = req.method ?? "GET";
    const policy = deps.policy();
    const request = { method, path, headers: req.headers };
    const params = new URLSearchParams(query);
    const refusal = guard(request, params, policy);
    if (refusal) {
      // A browser opening the page without the key is shown where to type it.
      if (refusal.status === 401 && isPagePath(path) && method === "GET") return signInFirst(res);
      return sendError(res, errorDialectOf(undefined, path), refusal.status, refusal.message);
    }
    for (const [name, value] of Object.entries(corsHeaders(req.headers.origin, policy)))
      res.setHeader(name, value);
    if (method === "OPTIONS") {
      res.writeHead(204);
      res.end();
      return;
    }
    if (path === "/health") {
      // Without the key (when one is set) the answer says only that the gateway is alive.
      const known =
        policy.apiKey === undefined || hasApiKey(request, params, policy.apiKey, policy.keyCookie);
      return sendJson(res, 200, {
        status: "ok",
        ...(known ? { rig: { home: info.home, pid: info.pid, version: info.version } } : {}),
      });
    }
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(recorder.prometheus(supervisor.status()));
      return;
    }
    if (isPagePath(path)) {
      // The page's code loads with its first visit, never with the CLI.
      const { servePage } = await import("./page/serve.ts");
      return servePage(req, res, path, { policy, home: info.home, version: info.version });
    }
    if (path.startsWith("/rig/v1/"))
      return handleAdmin(req, res, path, params, { supervisor, recorder, info, bench });
    if (await proxy.handle(req, res, path)) return;
    sendError(
      res,
      "openai",
      404,
      `no route ${method} ${path.slice(0, 200)}; models are served under /v1/ and /agents/<agent>/v1/`,
    );
  };
}
