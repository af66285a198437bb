import { ADMIN_TOKEN_HEADER, ADMIN_TOKEN_META } from "../protocol.ts";

// How the page talks to its daemon: same-origin fetches (the sign-in cookie, when the gateway has a
// key, goes with them) and the admin token from the page's own HTML on the routes that change state.

const adminToken = document.querySelector<HTMLMetaElement>(`meta[name="${ADMIN_TOKEN_META}"]`)?.content ?? "";

/** The message of an error answer: the admin API's `{error}`, a gateway error's `{error: {message}}`, or the text. */
async function failure(response: Response): Promise<Error> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: string | { message?: string } };
    const message = typeof body.error === "string" ? body.error : body.error?.message;
    if (message) return new Error(message);
  } catch {}
  return new Error(`${response.status} ${text.slice(0, 200)}`);
}

async function checked(response: Response): Promise<Response> {
  // The sign-in cookie expired or the key changed: sign in again.
  if (response.status === 401) window.location.assign("/ui/login");
  if (!response.ok) throw await failure(response);
  return response;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await checked(await fetch(path, { headers: { accept: "application/json" } }))).json() as Promise<T>;
}

/** Reads a body of JSON lines (the admin API's progress answers), calling `onLine` for each. */
export async function readJsonLines(response: Response, onLine: (value: unknown) => void): Promise<void> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onLine(JSON.parse(line));
  }
}

/** An admin action (start, stop, restart): POST with the admin token. */
export async function postAction(path: string): Promise<Response> {
  return checked(await fetch(path, { method: "POST", headers: { [ADMIN_TOKEN_HEADER]: adminToken } }));
}

export async function postJson(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return checked(
    await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(body),
      signal,
    }),
  );
}
