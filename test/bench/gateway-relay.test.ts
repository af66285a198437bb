// The gateway's relay as the cost work left it (in-process, no build): a server that closes its
// connection after every stream, as llama-server does, is asked for `connection: close` once that is
// seen, so no request races a connection being closed (and is retried); a server that keeps its
// connections keeps them; a sink's response ends in the same tick as the last chunk.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { type RelaySink, Upstream } from "../../src/gateway/upstream.ts";

interface Seen {
  connections: number;
  connectionHeaders: Array<string | undefined>;
}

/** An SSE upstream; `closeAfterStream` drops the connection right after each answer, like llama-server. */
async function sseServer(closeAfterStream: boolean): Promise<{ url: string; seen: Seen; server: Server }> {
  const seen: Seen = { connections: 0, connectionHeaders: [] };
  const server = createServer((req, res) => {
    seen.connectionHeaders.push(req.headers.connection);
    const socket = req.socket;
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream", connection: "keep-alive" });
      res.write('data: {"choices":[{"delta":{"content":"a"}}]}\n\n');
      res.end("data: [DONE]\n\n", () => {
        if (closeAfterStream) socket.destroy();
      });
    });
  });
  server.on("connection", () => seen.connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => server.close());
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`,
    seen,
    server,
  };
}

function collectingSink(events: string[]): RelaySink {
  return {
    start: (status) => events.push(`start ${status}`),
    data: (chunk) => {
      events.push(`data ${chunk.length}`);
      return true;
    },
    waitDrain: (resume) => resume(),
    end: () => events.push("end"),
  };
}

async function relayTimes(url: string, times: number): Promise<string[][]> {
  const upstream = new Upstream();
  after(() => upstream.close());
  const all: string[][] = [];
  for (let index = 0; index < times; index++) {
    const events: string[] = [];
    const outcome = await upstream.relay(
      {
        url: new URL(url),
        headers: { "content-type": "application/json" },
        body: '{"stream":true}',
        timeoutMs: 5000,
        abort: new AbortController().signal,
      },
      collectingSink(events),
    );
    assert.equal(outcome.status, 200);
    assert.equal(outcome.error, undefined);
    events.push("settled");
    all.push(events);
    // The server's close reaches the pool before the next request, as between an agent's turns.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return all;
}

describe("the gateway's relay", () => {
  test("a server that closes after every stream is asked for connection: close from then on", async () => {
    const { url, seen } = await sseServer(true);
    const runs = await relayTimes(url, 4);
    assert.deepEqual(seen.connectionHeaders, ["keep-alive", "close", "close", "close"]);
    assert.equal(seen.connections, 4);
    for (const events of runs)
      assert.deepEqual(events.slice(-2), ["end", "settled"], "the sink ends before the relay settles");
  });

  test("a server that keeps its connections keeps serving on one", async () => {
    const { url, seen } = await sseServer(false);
    await relayTimes(url, 4);
    assert.deepEqual(seen.connectionHeaders, ["keep-alive", "keep-alive", "keep-alive", "keep-alive"]);
    assert.equal(seen.connections, 1);
  });
});
