// A streaming client run inside a host's namespace: posts one request, prints `{"first":true}` at the
// first generated text, then one JSON line with what the stream was: tokens, seconds, how it ended.
// argv: <url> <model> <max_tokens> <timeout_ms>
const [url, model, maxTokens, timeoutMs] = process.argv.slice(2);
// Chat Completions and Anthropic Messages take the same fields for this; the URL picks the dialect.
const body = {
  model,
  max_tokens: Number(maxTokens),
  stream: true,
  messages: [{ role: "user", content: "Say something." }],
};
const started = Date.now();
const result = { status: 0, tokens: 0, seconds: 0, done: false, errorEvent: null, body: "", failure: null };
try {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(Number(timeoutMs)),
  });
  result.status = response.status;
  const decoder = new TextDecoder();
  let buffer = "";
  let first = 0;
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf("\n");
    while (end !== -1) {
      const line = buffer.slice(0, end).trim();
      buffer = buffer.slice(end + 1);
      end = buffer.indexOf("\n");
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (data === "[DONE]") {
        result.done = true;
        continue;
      }
      const event = JSON.parse(data);
      if (event.error || event.type === "error") result.errorEvent = event.error ?? event;
      const text = event.choices?.[0]?.delta?.content ?? event.delta?.text;
      if (text) {
        if (!first) {
          first = Date.now();
          console.log(JSON.stringify({ first: true }));
        }
        result.tokens++;
      }
      if (event.type === "message_stop") result.done = true;
    }
  }
  result.body = buffer.slice(-2000);
  result.seconds = (Date.now() - (first || started)) / 1000;
} catch (error) {
  result.failure = String(error?.message ?? error);
}
result.elapsedMs = Date.now() - started;
console.log(JSON.stringify(result));
