#!/usr/bin/env node
// A scripted OpenAI-compatible upstream for what cannot run here (MLX, vLLM, Ollama, LM Studio dialects)
// and for deterministic edge cases. rig launches it like any runtime: it takes --port/--host from argv
// (or OLLAMA_HOST), appends every request it sees to $RECORD as JSON lines, and answers chat
// completions from $SCRIPT: a JSON array of replies used in order (the last one repeats).
//
// A reply: { "deltas": [{ "content": "hi" }, { "reasoning": "…" }, { "tool_calls": [...] }],
//            "finish_reason": "stop", "usage": {...}, "status": 200, "body": {...},
//            "die_after": 2,       // stream: exit the process after this many chunks
//            "delay_ms": 0,        // wait before answering
//            "linger_ms": 0,       // stream: wait after [DONE] before ending the response
//            "name": "broken" }    // recorded as { event: "reply", name } with each answer it serves
// Tool-call edge cases are plain replies: broken arguments (`"arguments": "{command: 'ls',}"`), a call
// written as text (`{ "content": "<tool_call>{…}</tool_call>" }`), a call naming a tool that was not
// offered, `"finish_reason": "length"`.
import { appendFileSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

// Replies with `match` are chosen by content: the first whose substring appears in the request (and,
// with `tools: true`, only when tools were offered). The others are used in order, the last repeating.
function pickReply(replies, served, body) {
  const text = JSON.stringify(body ?? "");
  const matched = replies.find(
    (reply) => reply.match && text.includes(reply.match) && (!reply.tools || body?.tools?.length),
  );
  if (matched) return matched;
  const ordered = replies.filter((reply) => !reply.match);
  return (
    ordered[Math.min(served, ordered.length - 1)] ?? {
      deltas: [{ content: "hello from the scripted upstream" }],
    }
  );
}

function message(reply) {
  const out = { role: "assistant", content: "" };
  for (const delta of reply.deltas ?? []) {
    if (delta.content) out.content += delta.content;
    if (delta.reasoning) out.reasoning = (out.reasoning ?? "") + delta.reasoning;
    if (delta.reasoning_content)
      out.reasoning_content = (out.reasoning_content ?? "") + delta.reasoning_content;
    for (const call of delta.tool_calls ?? []) {
      out.tool_calls ??= [];
      const existing = out.tool_calls[call.index ?? 0];
      if (!existing)
        out.tool_calls[call.index ?? 0] = {
          id: call.id,
          type: "function",
          function: { name: call.function?.name ?? "", arguments: call.function?.arguments ?? "" },
        };
      else existing.function.arguments += call.function?.arguments ?? "";
    }
  }
  if (out.tool_calls) out.tool_calls = out.tool_calls.map(({ index, ...call }) => call);
  return out;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The upstream as an http.Server (not yet listening), for tests that run it in their own process.
 * `onDie` replaces exiting the process for `die_after`; `isReady` answers health checks.
 */
export function scriptedUpstream({
  replies = [],
  record = () => {},
  isReady = () => true,
  onDie = () => {},
} = {}) {
  let served = 0;
  const nextReply = (body) => {
    const reply = pickReply(replies, served, body);
    if (!reply.match) served++;
    return reply;
  };
  return createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString();
    let body;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const path = req.url.split("?")[0];
    record({ event: "request", method: req.method, path, headers: req.headers, body });
    const json = (status, value) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (path === "/health" || path === "/api/version")
      return isReady() ? json(200, { status: "ok", version: "0.0.0" }) : json(503, { status: "loading" });
    if (path === "/v1/models")
      return isReady()
        ? json(200, { object: "list", data: [{ id: "scripted", object: "model" }] })
        : json(503, {});
    if (path === "/api/generate") return json(200, { done: true });
    if (path !== "/v1/chat/completions" && path !== "/v1/completions" && path !== "/v1/embeddings")
      return json(404, { error: { message: `no route ${path}` } });
    if (path === "/v1/embeddings")
      return json(200, {
        object: "list",
        data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2] }],
        usage: { prompt_tokens: 2, total_tokens: 2 },
      });

    const reply = nextReply(body);
    record({ event: "reply", name: reply.name });
    if (reply.delay_ms) await sleep(reply.delay_ms);
    if (reply.status && reply.status !== 200)
      return json(reply.status, reply.body ?? { error: { message: "scripted failure" } });
    const id = `chatcmpl-scripted-${served}`;
    const usage = reply.usage ?? {
      prompt_tokens: 11,
      completion_tokens: (reply.deltas ?? []).length,
      total_tokens: 11 + (reply.deltas ?? []).length,
    };
    if (!body?.stream) {
      return json(200, {
        id,
        object: "chat.completion",
        created: 1,
        model: body?.model,
        choices: [{ index: 0, message: message(reply), finish_reason: reply.finish_reason ?? "stop" }],
        usage,
      });
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (value) =>
      new Promise((resolve) => res.write(`data: ${JSON.stringify(value)}\n\n`, resolve));
    const deltas = reply.deltas ?? [];
    for (let index = 0; index < deltas.length; index++) {
      if (reply.die_after !== undefined && index >= reply.die_after) {
        await sleep(50);
        res.socket.destroy();
        onDie();
        return;
      }
      await send({
        id,
        object: "chat.completion.chunk",
        created: 1,
        model: body.model,
        choices: [
          {
            index: 0,
            delta: index === 0 ? { role: "assistant", ...deltas[index] } : deltas[index],
            finish_reason: null,
          },
        ],
      });
      if (reply.chunk_delay_ms) await sleep(reply.chunk_delay_ms);
    }
    send({
      id,
      object: "chat.completion.chunk",
      created: 1,
      model: body.model,
      choices: [{ index: 0, delta: {}, finish_reason: reply.finish_reason ?? "stop" }],
    });
    if (body.stream_options?.include_usage || reply.usage)
      send({ id, object: "chat.completion.chunk", created: 1, model: body.model, choices: [], usage });
    res.write("data: [DONE]\n\n");
    if (reply.linger_ms) await sleep(reply.linger_ms);
    res.end();
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const flag = (name) => {
    const index = argv.indexOf(name);
    return index === -1 ? undefined : argv[index + 1];
  };
  const [ollamaHost, ollamaPort] = (process.env.OLLAMA_HOST ?? "").split(":");
  const port = Number(flag("--port") ?? ollamaPort ?? 8000);
  const host = flag("--host") ?? (ollamaHost || "127.0.0.1");
  const startupDelay = Number(process.env.STARTUP_DELAY_MS ?? 0);
  let ready = startupDelay === 0;
  if (!ready) setTimeout(() => (ready = true), startupDelay);
  const record = (entry) => {
    if (process.env.RECORD) appendFileSync(process.env.RECORD, `${JSON.stringify(entry)}\n`);
  };
  record({ event: "start", argv: process.argv.slice(1), env: { OLLAMA_HOST: process.env.OLLAMA_HOST } });
  console.log(`scripted upstream listening on ${host}:${port}`);
  if (process.env.ECHO_SETTINGS) {
    // As vLLM lists its non-default args: the line goes out in two writes, split inside its last value.
    const settings = `settings: ${JSON.stringify({ args: argv, env: process.env[process.env.ECHO_SETTINGS] })}\n`;
    process.stdout.write(settings.slice(0, -12));
    setTimeout(() => process.stdout.write(settings.slice(-12)), 50);
  }
  scriptedUpstream({
    replies: process.env.SCRIPT ? JSON.parse(readFileSync(process.env.SCRIPT, "utf8")) : [],
    record,
    isReady: () => ready,
    onDie: () => setTimeout(() => process.exit(17), 0),
  }).listen(port, host);
  for (const signal of ["SIGTERM", "SIGINT"])
    process.on(signal, () => {
      record({ event: "signal", signal });
      process.exit(0);
    });
}
