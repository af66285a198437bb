// Peers and fallback through the gateway's request path, in-process: ModelProxy over a fake lease table,
// the scripted upstream as a plain OpenAI-compatible peer and as local servers, and a small fake rig
// gateway. What reaches each peer (its key, never the client's; the model as the peer names it; the
// dialect as it is or translated here), and which target answers when the first cannot.
import assert from "node:assert/strict";
import { createServer, type Server as HttpServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../../src/config/loader.ts";
import { ModelProxy, type ServerLeases } from "../../src/gateway/proxy.ts";
import type { RequestRecord } from "../../src/ledger/ledger.ts";
import { PeerRegistry } from "../../src/peers/registry.ts";
import { stoppedStatus } from "../../src/supervisor/status.ts";
// @ts-expect-error: a plain .mjs helper without types
import { scriptedUpstream } from "../support/scripted-upstream.mjs";

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

const listen = async (server: HttpServer) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const servers: HttpServer[] = [];
/** A scripted upstream in this process, recording what it is sent. */
async function scripted(replies: unknown[]): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = scriptedUpstream({
    replies,
    record: (entry: Seen & { event: string }) => {
      if (entry.event === "request" && entry.path !== "/v1/models") seen.push(entry);
    },
  }) as HttpServer;
  servers.push(server);
  return { url: await listen(server), seen };
}

/** A rig gateway as a peer sees it: the header on its list, and a Messages answer of its own. */
async function fakeRigGateway(): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === "/v1/models")
      return void res
        .writeHead(200, { "content-type": "application/json", "x-rig-gateway": "1" })
        .end(JSON.stringify({ data: [{ id: "big" }] }));
    const body = JSON.parse(Buffer.concat(chunks).toString() || "{}");
    seen.push({ path, headers: req.headers, body });
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        id: "msg_peer",
        type: "message",
        role: "assistant",
        model: body.model,
        content: [{ type: "text", text: "from the rig peer" }],
        stop_reason: "end_turn",
        usage: { input_tokens: 3, output_tokens: 4 },
      }),
    );
  });
  servers.push(server);
  return { url: await listen(server), seen };
}

/** A plain server answering under any path prefix (`/v1/…`, `/inner/v1/…`): two peers on one origin. */
async function prefixedServer(): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? "/").split("?")[0]!;
    if (path.endsWith("/v1/models"))
      return void res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ data: [{ id: "m" }] }));
    const body = JSON.parse(Buffer.concat(chunks).toString() || "{}");
    seen.push({ path, headers: req.headers, body });
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        id: "chatcmpl-prefixed",
        object: "chat.completion",
        created: 1,
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content: path }, finish_reason: "stop" }],
      }),
    );
  });
  servers.push(server);
  return { url: await listen(server), seen };
}

async function closedUrl(): Promise<string> {
  const server = createServer();
  const url = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return url;
}

const local = await scripted([
  { match: "cut me", deltas: [{ content: "one " }, { content: "two " }, { content: "three" }], die_after: 1 },
  { deltas: [{ content: "local answer" }] },
]);
const plain = await scripted([{ deltas: [{ content: "plain " }, { content: "peer" }] }]);
const busy = await scripted([{ status: 503, body: { error: { message: "loading" } } }]);
const rigPeer = await fakeRigGateway();
const gone = await closedUrl();
const prefixed = await prefixedServer();
const slow = await scripted([{ delay_ms: 1500, deltas: [{ content: "too late" }] }]);

const config = await loadConfig({
  home: "/nonexistent/rig-peer-routing-test",
  env: { HOME: "/nonexistent" },
  text: `
gateway: { api_key: client-key }
peers:
  plain: { url: "${plain.url}/v1", api_key: plain-key }
  busy: { url: "${busy.url}" }
  gone: { url: "${gone}" }
  rigpeer: { url: "${rigPeer.url}", api_key: rig-key }
  outer: { url: "${prefixed.url}", api_key: outer-key }
  inner: { url: "${prefixed.url}/inner/v1", api_key: inner-key }
  slow: { url: "${slow.url}", timeout: 300ms }
servers:
  llama: { runtime: llama.cpp, model: models/tiny.gguf }
  broken: { runtime: llama.cpp, model: models/tiny.gguf, fallback: [gone/x, busy/x, plain/m, llama] }
  streamer: { runtime: llama.cpp, model: models/tiny.gguf, fallback: [llama] }
  doomed: { runtime: llama.cpp, model: models/tiny.gguf, fallback: [gone/x] }
  vanished: { runtime: llama.cpp, model: models/tiny.gguf, fallback: [plain/m] }
  late: { runtime: llama.cpp, model: models/tiny.gguf, fallback: [plain/m] }
agents:
  remote-coder: { harness: claude-code, server: rigpeer/big }
`,
});

/**
 * `broken` and `doomed` fail to start; `late` fails after starting long enough for a streaming client
 * to be told it is starting; `vanished` starts at an address nothing answers on; every other server is
 * the local scripted upstream.
 */
class FakeLeases implements ServerLeases {
  leased: string[] = [];
  inFlight = 0;
  async lease(name: string) {
    this.leased.push(name);
    if (name === "late") await new Promise((resolve) => setTimeout(resolve, 1300));
    if (name === "broken" || name === "doomed" || name === "late")
      throw new Error(`${name} exited while starting`);
    this.inFlight++;
    return { baseUrl: name === "vanished" ? gone : local.url, model: `local-${name}` };
  }
  release() {
    this.inFlight--;
  }
  endpoint(name: string) {
    return name === "late" ? undefined : { baseUrl: local.url };
  }
  status() {
    return Object.values(config.servers).map(stoppedStatus);
  }
}

const leases = new FakeLeases();
const records: RequestRecord[] = [];
const logged: string[] = [];
const peers = new PeerRegistry(() => config.peers, { listTimeoutMs: 2000 });
const proxy = new ModelProxy({
  config: () => config,
  supervisor: leases,
  recorder: { record: (entry) => records.push(entry) },
  peers,
  log: (line) => logged.push(line),
});
const gateway = createServer((req, res) => {
  void proxy.handle(req, res, (req.url ?? "/").split("?")[0]!).then((handled) => {
    if (!handled) res.writeHead(404).end();
  });
});
let url = "";
const post = (path: string, body: unknown) =>
  fetch(url + path, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: "Bearer client-key",
      "x-api-key": "client-key",
    },
    body: JSON.stringify(body),
  });
const until = async (check: () => boolean) => {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 5000) assert.fail("timed out waiting for the gateway to record the exchange");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};
const chat = (model: string, content = "hi", stream = false) => ({
  model,
  messages: [{ role: "user", content }],
  stream,
});

before(async () => {
  url = await listen(gateway);
});
after(async () => {
  peers.close();
  await proxy.close();
  gateway.close();
  for (const server of servers) server.close();
});

describe("peers and fallback through the gateway", () => {
  test("a Messages request for a plain peer's model is translated here and sent with the peer's key", async () => {
    const response = await post("/v1/messages", {
      model: "plain/m",
      max_tokens: 20,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-rig-server"), "plain/m");
    const answer = (await response.json()) as { type: string; content: Array<{ text: string }> };
    assert.equal(answer.type, "message");
    assert.equal(answer.content[0]!.text, "plain peer");
    const sent = plain.seen.at(-1)!;
    assert.equal(sent.path, "/v1/chat/completions", "a plain server is sent Chat, not /v1/v1/…");
    assert.equal(sent.body.model, "m", "the model as the peer names it");
    assert.equal(sent.headers.authorization, "Bearer plain-key");
    assert.ok(!JSON.stringify(sent.headers).includes("client-key"), "the client's key never leaves");
    assert.equal(leases.leased.length, 0, "a peer's model leases nothing here");
    await until(() => records.some((record) => record.server === "plain/m"));
  });

  test("a peer whose url extends another's gets its own key, and the other keeps its own", async () => {
    for (const [peer, path, key] of [
      ["inner", "/inner/v1/chat/completions", "inner-key"],
      ["outer", "/v1/chat/completions", "outer-key"],
    ] as const) {
      const response = await post("/v1/chat/completions", chat(`${peer}/m`));
      assert.equal(response.status, 200, await response.clone().text());
      const sent = prefixed.seen.at(-1)!;
      assert.equal(sent.path, path);
      assert.equal(sent.headers.authorization, `Bearer ${key}`, `${peer} gets its own key`);
      assert.equal(sent.headers["x-api-key"], key);
    }
  });

  test("a peer that sends nothing within its timeout is a 504 naming the peer's own setting", async () => {
    const response = await post("/v1/chat/completions", chat("slow/m"));
    assert.equal(response.status, 504);
    const body = (await response.json()) as { error: { message: string } };
    assert.match(body.error.message, /raise peers\.slow\.timeout for long prefills/);
  });

  test("a rig gateway peer gets the client's dialect as it is (it translates for its runtime), agents included", async () => {
    const response = await post("/agents/remote-coder/v1/messages", {
      model: "claude-whatever",
      max_tokens: 20,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(response.status, 200);
    assert.equal(
      ((await response.json()) as { content: Array<{ text: string }> }).content[0]!.text,
      "from the rig peer",
    );
    const sent = rigPeer.seen.at(-1)!;
    assert.equal(sent.path, "/v1/messages");
    assert.equal(sent.body.model, "big");
    assert.equal(sent.headers["x-api-key"], "rig-key");
    assert.equal(sent.headers.authorization, "Bearer rig-key");
  });

  test("GET /v1/models lists local servers and the models of peers that answer; a silent peer is left out", async () => {
    await peers.refresh();
    const response = await fetch(`${url}/v1/models`, { headers: { authorization: "Bearer client-key" } });
    assert.equal(response.headers.get("x-rig-gateway"), "1", "how a peer knows this is a rig gateway");
    const ids = ((await response.json()) as { data: Array<{ id: string }> }).data.map((model) => model.id);
    assert.ok(
      ids.includes("llama") && ids.includes("plain/scripted") && ids.includes("rigpeer/big"),
      ids.join(),
    );
    assert.ok(
      !ids.some((id) => id.startsWith("gone/")),
      "an unreachable peer lists nothing, and is no error",
    );
    const forPeer = await fetch(`${url}/v1/models`, { headers: { "x-rig-peer-listing": "1" } });
    const own = ((await forPeer.json()) as { data: Array<{ id: string }> }).data.map((model) => model.id);
    assert.ok(!own.some((id) => id.includes("/")), "a peer listing us gets our own servers only");
  });

  test("a server that fails to start falls back past an unreachable peer and a 503 to the next that answers", async () => {
    leases.leased = [];
    const before = busy.seen.length;
    const response = await post("/v1/chat/completions", chat("broken", "hi", true));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-rig-server"), "plain/m", "the answer says who answered");
    const text = await response.text();
    assert.match(text, /"content":"plain "/);
    assert.match(text, /\[DONE\]/);
    assert.deepEqual(leases.leased, ["broken"], "the local fallback after plain/m was never needed");
    assert.equal(busy.seen.length, before + 1, "the busy peer was asked once and answered 503");
    await until(() => records.at(-1)?.server === "plain/m");
    assert.equal(records.at(-1)!.status, 200);
    assert.ok(logged.some((line) => /broken could not take .*failed to start.*trying gone\/x/.test(line)));
    assert.ok(logged.some((line) => /gone\/x could not take .*could not be reached/.test(line)));
    assert.ok(logged.some((line) => /busy\/x could not take .*answered 503/.test(line)));
    assert.equal(leases.inFlight, 0);
  });

  test("a stream told its server is starting hears of the fallback before the next target answers", async () => {
    const response = await post("/v1/chat/completions", chat("late", "hi", true));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-rig-server"), "late", "the head went out with the first notice");
    const text = await response.text();
    const notice =
      ": rig: late could not answer (failed to start: late exited while starting); trying plain/m\n\n";
    assert.ok(text.startsWith(`: rig is starting late\n\n${notice}data: `), text);
    assert.match(text, /"content":"plain "/);
    await until(() => records.at(-1)?.server === "plain/m");
  });

  test("never after a byte: a stream cut mid-way ends with an error event, the fallback is not asked", async () => {
    leases.leased = [];
    const response = await post("/v1/chat/completions", chat("streamer", "cut me", true));
    const text = await response.text();
    assert.match(text, /one /);
    assert.match(text, /"error"/);
    assert.deepEqual(leases.leased, ["streamer"]);
    await until(() => records.at(-1)?.server === "streamer");
    assert.equal(records.at(-1)!.status, 502);
  });

  test("a required tool call rig would enforce falls back too when its server cannot be reached", async () => {
    const before = plain.seen.length;
    const response = await post("/v1/chat/completions", {
      ...chat("vanished"),
      tools: [{ type: "function", function: { name: "shell", parameters: { type: "object" } } }],
      tool_choice: "required",
    });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get("x-rig-server"), "plain/m");
    assert.equal(plain.seen.length, before + 1);
    assert.equal(plain.seen.at(-1)!.body.tool_choice, "required", "the peer is asked as the client asked");
    assert.ok(
      logged.some((line) => /vanished could not take .*could not be reached.*trying plain\/m/.test(line)),
    );
  });

  test("the last of a chain answers as itself: an unreachable peer is a 502 naming it", async () => {
    const response = await post("/v1/chat/completions", chat("doomed"));
    assert.equal(response.status, 502);
    const body = (await response.json()) as { error: { message: string } };
    assert.match(body.error.message, /server gone\/x could not be reached/);
    assert.equal(response.headers.get("x-rig-server"), null);
  });
});
