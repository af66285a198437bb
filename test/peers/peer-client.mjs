// One request from inside a host's namespace: prints one JSON line with the status, the server that
// answered (x-rig-server) and the body as text.
// argv: <url> <api key> <json body> <timeout_ms>
const [url, key, body, timeoutMs] = process.argv.slice(2);
const result = { status: 0, server: null, text: "", failure: null };
try {
  const response = await fetch(url, {
    method: body ? "POST" : "GET",
    headers: {
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      authorization: `Bearer ${key}`,
    },
    body: body || undefined,
    signal: AbortSignal.timeout(Number(timeoutMs)),
  });
  result.status = response.status;
  result.server = response.headers.get("x-rig-server");
  result.text = await response.text();
} catch (error) {
  result.failure = String(error?.cause?.code ?? error?.message ?? error);
}
console.log(JSON.stringify(result));
