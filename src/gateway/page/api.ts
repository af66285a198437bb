import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Supervisor } from "../../supervisor/supervisor.ts";
import { sendJson } from "../http.ts";
import type { Recorder } from "../recorder.ts";
import { decodedName } from "../routes.ts";
import { streamLog, streamStackEvents } from "./events.ts";
import { inventoryView } from "./inventory.ts";
import { GATEWAY_LOG, PAGE_ROUTES, SIDE_BY_SIDE_KEYS } from "./protocol.ts";
import { stackView } from "./stack.ts";

export interface PageApiDeps {
  supervisor: Supervisor;
  recorder: Recorder;
  version: string;
}

const MAX_REQUESTS = 1000;

/** The admin routes only the page reads (GET): events, the log streams, activity, the stack, the models. */
export async function handlePageApi(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  deps: PageApiDeps,
): Promise<boolean> {
  if (req.method !== "GET") return false;
  const { supervisor, recorder } = deps;
  const config = supervisor.currentConfig;
  switch (path) {
    case PAGE_ROUTES.events:
      streamStackEvents(res, supervisor, recorder);
      return true;
    case PAGE_ROUTES.requests: {
      const limit = Math.min(MAX_REQUESTS, Math.max(1, Number(query.get("limit")) || 200));
      const rows = recorder.recent({
        server: query.get("server") || undefined,
        agent: query.get("agent") || undefined,
        limit,
      });
      sendJson(res, 200, rows, { "cache-control": "no-store" });
      return true;
    }
    case PAGE_ROUTES.stats: {
      const since = query.get("since") || undefined;
      if (since !== undefined && Number.isNaN(Date.parse(since))) {
        sendJson(res, 400, { error: `since must be an ISO time, e.g. 2026-01-02T03:04:05Z; got "${since}"` });
        return true;
      }
      const iso = since === undefined ? undefined : new Date(since).toISOString();
      sendJson(res, 200, recorder.stats(SIDE_BY_SIDE_KEYS, iso), { "cache-control": "no-store" });
      return true;
    }
    case PAGE_ROUTES.stack:
      sendJson(res, 200, stackView(config, deps.version), { "cache-control": "no-store" });
      return true;
    case PAGE_ROUTES.inventory:
      sendJson(res, 200, await inventoryView(config), { "cache-control": "no-store" });
      return true;
  }
  const log = /^\/rig\/v1\/logs\/([^/]+)\/events$/.exec(path);
  if (!log) return false;
  const name = decodedName(log[1]!);
  if (typeof name !== "string") {
    sendJson(res, 400, { error: name.message });
    return true;
  }
  if (name !== GATEWAY_LOG && !Object.hasOwn(config.servers, name)) {
    sendJson(res, 404, {
      error: `no server named \`${name}\``,
      logs: [GATEWAY_LOG, ...Object.keys(config.servers)],
    });
    return true;
  }
  streamLog(res, join(config.home.logs, `${name}.log`));
  return true;
}
