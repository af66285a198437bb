import type { ServerResponse } from "node:http";
import { googleError } from "../dialects/gemini/mapping.ts";
import { geminiChunk } from "../dialects/gemini/stream.ts";

/** How a client expects errors: OpenAI-style, Anthropic-style or Google-style JSON. */
export type ErrorDialect = "openai" | "anthropic" | "google";

const ANTHROPIC_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  529: "overloaded_error",
};

const OPENAI_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "invalid_request_error",
  429: "rate_limit_error",
};

/** A status the tables do not name: any 4xx is the caller's mistake (a GET where POST is taken, a 422), the rest the server's. */
function typeOf(table: Record<number, string>, status: number, serverSide: string): string {
  return table[status] ?? (status >= 400 && status < 500 ? "invalid_request_error" : serverSide);
}

/** An error body in the caller's dialect; `rig: true` says the gateway, not the model server, refused. */
export function errorBody(
  dialect: ErrorDialect,
  status: number,
  message: string,
  fromGateway = true,
): unknown {
  const marker = fromGateway ? { rig: true } : {};
  if (dialect === "anthropic") {
    return {
      type: "error",
      error: { type: typeOf(ANTHROPIC_TYPES, status, "api_error"), message, ...marker },
    };
  }
  if (dialect === "google") return googleError(status, message, marker);
  return {
    error: {
      message,
      type: typeOf(OPENAI_TYPES, status, "server_error"),
      param: null,
      code: null,
      ...marker,
    },
  };
}

export function sendError(res: ServerResponse, dialect: ErrorDialect, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(dialect, status, message));
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-rig-error": "gateway",
  });
  res.end(body);
}

/** The SSE event that ends a stream with an error, in the stream's own dialect. */
export function sseError(
  dialect: "chat" | "messages" | "responses" | "completions" | "gemini",
  message: string,
  type = "api_error",
): string {
  // Google's streams end with an error chunk (the status is already sent: the code says what failed).
  if (dialect === "gemini") return geminiChunk(googleError(500, message, { rig: true }));
  if (dialect === "messages") {
    return `event: error\ndata: ${JSON.stringify({ type: "error", error: { type, message, rig: true } })}\n\n`;
  }
  if (dialect === "responses") {
    return `event: error\ndata: ${JSON.stringify({ type: "error", code: type, message, param: null, rig: true })}\n\n`;
  }
  return `data: ${JSON.stringify({ error: { message, type, code: null, param: null, rig: true } })}\n\ndata: [DONE]\n\n`;
}
