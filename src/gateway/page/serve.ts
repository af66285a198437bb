import type { IncomingMessage, ServerResponse } from "node:http";
import { type AccessPolicy, hasApiKey } from "../guard.ts";
import { BodyTooLarge, readBody } from "../http.ts";
import { type Asset, type AssetName, PAGE_ASSETS, pageAssets } from "./assets.ts";
import { CONTENT_SECURITY_POLICY, loginHtml, pageHtml } from "./html.ts";

/** How long the browser keeps the sign-in cookie: it asks for the key again after a month. */
const SIGN_IN_SECONDS = 30 * 24 * 3600;
const LOGIN_BODY_LIMIT = 4096;

export interface PageDeps {
  policy: AccessPolicy;
  home: string;
  version: string;
}

const PAGE_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  // Not no-referrer: under it a browser sends `Origin: null` with the sign-in form, which the guard refuses.
  "referrer-policy": "same-origin",
};

function sendHtml(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    // The page carries the admin token: never kept by a cache.
    "cache-control": "no-store",
    ...PAGE_HEADERS,
    ...headers,
  });
  res.end(html);
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { location, "cache-control": "no-store", ...headers });
  res.end();
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const headers = {
    "content-type": asset.type,
    "cache-control": "no-cache",
    etag: asset.etag,
    "x-content-type-options": "nosniff",
    vary: "accept-encoding",
  };
  if (req.headers["if-none-match"] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip ? asset.gzip : asset.body;
  res.writeHead(200, {
    ...headers,
    "content-length": body.length,
    ...(gzip ? { "content-encoding": "gzip" } : {}),
  });
  res.end(body);
}

/** Checks the key typed into the sign-in form; when right, the browser gets the cookie the guard accepts. */
async function signIn(req: IncomingMessage, res: ServerResponse, deps: PageDeps): Promise<void> {
  const { apiKey, keyCookie } = deps.policy;
  if (!apiKey || !keyCookie) return redirect(res, "/ui");
  let key = "";
  try {
    key = new URLSearchParams((await readBody(req, LOGIN_BODY_LIMIT)).toString("utf8")).get("key") ?? "";
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
  }
  const request = { method: "POST", path: "/ui/login", headers: { "x-api-key": key } };
  if (!key || !hasApiKey(request, new URLSearchParams(), apiKey))
    return sendHtml(res, 401, loginHtml(deps.home, true));
  redirect(res, "/ui", {
    "set-cookie": `${keyCookie.name}=${keyCookie.value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SIGN_IN_SECONDS}`,
  });
}

/** `/ui` and everything under it: the page, its files, and its sign-in. */
export async function servePage(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  deps: PageDeps,
): Promise<void> {
  const method = req.method ?? "GET";
  if (path === "/ui/login") {
    if (method === "POST") return signIn(req, res, deps);
    if (!deps.policy.apiKey) return redirect(res, "/ui");
    return sendHtml(res, 200, loginHtml(deps.home, false));
  }
  if (method !== "GET" && method !== "HEAD") {
    res.writeHead(405, { allow: "GET" });
    res.end();
    return;
  }
  const assets = pageAssets();
  if (!assets) {
    res.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
    res.end("rig's page is not built: run `npm run build` in rig's checkout\n");
    return;
  }
  if (path === "/ui" || path === "/ui/") {
    return sendHtml(
      res,
      200,
      pageHtml({ home: deps.home, version: deps.version, adminToken: deps.policy.adminToken ?? "" }),
    );
  }
  const name = path.slice("/ui/".length);
  if (Object.hasOwn(PAGE_ASSETS, name)) return sendAsset(req, res, assets.get(name as AssetName)!);
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
  res.end(`no page file ${path.slice(0, 200)}\n`);
}
