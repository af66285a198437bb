import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from "node:http";
import { request as httpsRequest } from "node:https";

/** A request over node:http or node:https, as the URL's scheme says (a `remote` may be https). */
function send(
  url: string,
  options: RequestOptions,
  onResponse: (res: IncomingMessage) => void,
): ClientRequest {
  const request = new URL(url).protocol === "https:" ? httpsRequest : httpRequest;
  return request(url, options, onResponse);
}

/**
 * One GET: resolves with the status code, or 0 when nothing answered. A fresh connection each time.
 * The certificate of an https server is not verified: the probe sends no credential and reads only
 * the status, and a server on a LAN often has a self-signed one. Requests verify it (the gateway's
 * upstream).
 */
export function probe(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const options = { method: "GET", agent: false, timeout: timeoutMs, rejectUnauthorized: false };
    const req = send(url, options, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
    req.end();
  });
}

/** A JSON POST used by runtime lifecycle steps (e.g. Ollama's keep_alive load/unload). */
export function postJson(
  url: string,
  body: unknown,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  return exchange(url, "POST", timeoutMs, Buffer.from(JSON.stringify(body ?? {})));
}

/** A GET of a runtime's own report (e.g. Ollama's /api/ps); undefined when it does not answer JSON. */
export async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  try {
    const result = await exchange(url, "GET", timeoutMs);
    return result.status === 200 ? JSON.parse(result.text) : undefined;
  } catch {
    return undefined;
  }
}

function exchange(
  url: string,
  method: "GET" | "POST",
  timeoutMs: number,
  payload?: Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method,
        agent: false,
        timeout: timeoutMs,
        headers: payload ? { "content-type": "application/json", "content-length": payload.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}
