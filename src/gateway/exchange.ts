import type { IncomingMessage, ServerResponse } from "node:http";
import type { StreamRenderer } from "../dialects/types.ts";
import { type ErrorDialect, errorBody, sendError, sseError } from "./errors.ts";
import { sendJson } from "./http.ts";
import { type Route, streamDialectOf } from "./routes.ts";
import type { ToolTally } from "./tally.ts";
import type { Usage } from "./usage.ts";

/** What the ledger learns about an exchange besides its status. */
export interface ExchangeFacts {
  server?: string;
  stream?: boolean;
  ttfbMs?: number;
  usage?: Usage;
  /** What the answer did with the tools offered (`rig stats`). */
  tools?: ToolTally;
  error?: string;
}

/** One client exchange on a model route: its response, its dialect, how it is recorded. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  route: Route;
  /** The shape errors take for this client. */
  dialect: ErrorDialect;
  /** Aborted when the client hangs up. */
  abort: AbortController;
  record(status: number, facts: ExchangeFacts): void;
}

const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  connection: "keep-alive",
};

/**
 * Sends the response head. Headers go through setHeader so that a later failure can tell what the
 * client already holds (an SSE stream takes an error event; anything else can only be cut).
 */
export function writeHead(res: ServerResponse, status: number, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.writeHead(status);
}

/** Opens an SSE answer (unless one is open already). */
export function openStream(res: ServerResponse, server: string): void {
  if (!res.headersSent) writeHead(res, 200, { ...SSE_HEADERS, "x-rig-server": server });
}

/**
 * What a streaming client is sent every few seconds while its server starts, so that neither it nor a
 * proxy in between times out: an SSE comment, or for Gemini a blank line (Google's JS client, which
 * Gemini CLI bundles, parses only `data:` events and would wait forever behind a comment).
 */
export function startingNotice(route: Route, server: string): string {
  return streamDialectOf(route) === "gemini" ? "\n" : `: rig is starting ${server}\n\n`;
}

/**
 * Told to a streaming client that already holds the head (sent with the starting notices) when its
 * server cannot answer and the next of the chain is tried: the head's `x-rig-server` names the first.
 */
export function fallbackNotice(route: Route, server: string, reason: string, next: string): string {
  if (streamDialectOf(route) === "gemini") return "\n";
  // One comment line: a reason may carry a log tail, and a bare newline would end the comment.
  const why = reason.split("\n", 1)[0]!.slice(0, 300);
  return `: rig: ${server} could not answer (${why}); trying ${next}\n\n`;
}

function holdsStream(res: ServerResponse): boolean {
  return String(res.getHeader("content-type") ?? "").includes("text/event-stream");
}

export interface FailureOptions {
  facts?: ExchangeFacts;
  /** Renders the stream's closing error event when rig is translating it. */
  renderer?: StreamRenderer;
  /** False when the runtime, not rig, refused: the error body carries no `rig` marker. */
  fromGateway?: boolean;
}

/**
 * The one way an exchange fails: an error in the caller's dialect before the head is sent, the
 * stream's own error event once an SSE stream is open, a cut connection otherwise; then recorded.
 */
export function failExchange(
  ex: Exchange,
  status: number,
  message: string,
  options: FailureOptions = {},
): void {
  const { res } = ex;
  if (res.headersSent) {
    if (!holdsStream(res)) res.destroy();
    else
      res.end(
        options.renderer ? options.renderer.end(message) : sseError(streamDialectOf(ex.route), message),
      );
  } else if (options.fromGateway === false)
    sendJson(res, status, errorBody(ex.dialect, status, message, false));
  else sendError(res, ex.dialect, status, message);
  ex.record(status, { error: message, ...options.facts });
}
