// The peer registry against local HTTP servers: what it lists, how it tells a rig gateway from a plain
// server, what it says of a peer that does not answer, and when it asks again.
import assert from "node:assert/strict";
import { createServer, type Server as HttpServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import type { Peer } from "../../src/config/loader.ts";
import { type PeerListing, PeerRegistry } from "../../src/peers/registry.ts";

const servers: HttpServer[] = [];
after(() => {
  for (const server of servers) server.close();
});

/** A peer answering GET /v1/models with `ids`, as a rig gateway when `rig`; it counts what it is asked. */
async function fakePeer(ids: string[], options: { rig?: boolean; key?: string } = {}) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    if (options.key && req.headers.authorization !== `Bearer ${options.key}`)
      return void res.writeHead(401, { "content-type": "application/json" }).end("{}");
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.rig) headers["x-rig-gateway"] = "1";
    res.writeHead(200, headers).end(JSON.stringify({ object: "list", data: ids.map((id) => ({ id })) }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A port nothing listens on: a listening server closed again. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

const peer = (name: string, url: string, apiKey?: string): Peer => ({ name, url, apiKey, timeoutMs: 30_000 });

describe("the peer registry", () => {
  test("lists each peer with its key, tells a rig gateway from a plain server, and leaves a silent peer out", async () => {
    const rig = await fakePeer(["tiny", "org/big"], { rig: true, key: "k1" });
    const plain = await fakePeer(["gpt-local"]);
    const gone = await closedPort();
    const registry = new PeerRegistry(() => ({
      b: peer("b", rig.url, "k1"),
      plain: peer("plain", `${plain.url}/v1`),
      gone: peer("gone", gone),
    }));
    assert.deepEqual(
      registry.status().map((status) => status.reachable),
      [null, null, null],
      "nothing is known before the first listing",
    );
    await registry.refresh();
    const [b, openai, down] = registry.status();
    assert.equal(b!.reachable, true);
    assert.equal(b!.kind, "rig");
    assert.deepEqual(b!.models, ["tiny", "org/big"]);
    assert.ok(typeof b!.rtt_ms === "number" && b!.rtt_ms >= 0 && b!.rtt_ms < 5000);
    assert.equal(rig.seen[0]!["x-api-key"], "k1", "the key goes in both headers clients use");
    assert.equal(rig.seen[0]!["x-rig-peer-listing"], "1", "a peer is asked for its own servers only");
    assert.equal(openai!.kind, "openai");
    assert.deepEqual(openai!.models, ["gpt-local"], "a url written with /v1 is listed once, not at /v1/v1");
    assert.equal(down!.reachable, false);
    assert.equal(down!.rtt_ms, null);
    assert.match(down!.error!, /ECONNREFUSED/);
    assert.deepEqual(
      registry.reachableModels().map(({ peer, model }) => `${peer}/${model}`),
      ["b/tiny", "b/org/big", "plain/gpt-local"],
    );
    registry.close();
  });

  test("a peer that refuses the key says which key to set", async () => {
    const rig = await fakePeer(["tiny"], { rig: true, key: "right" });
    const registry = new PeerRegistry(() => ({ b: peer("b", rig.url, "wrong") }));
    await registry.refresh();
    assert.equal(registry.status()[0]!.reachable, false);
    assert.match(registry.status()[0]!.error!, /refused the key \(401\).*peers\.b\.api_key/);
  });

  test("a model not listed yet lists its peer again, but not twice within moments", async () => {
    const rig = await fakePeer(["tiny"], { rig: true });
    const registry = new PeerRegistry(() => ({ b: peer("b", rig.url) }), { onDemandMs: 60_000 });
    await registry.ensureListed("b", "tiny");
    assert.equal(rig.seen.length, 1, "never listed: listed now");
    await registry.ensureListed("b", "tiny");
    assert.equal(rig.seen.length, 1, "listed and known: not asked again");
    await registry.ensureListed("b", "typo");
    assert.equal(rig.seen.length, 1, "checked moments ago: a typo does not list the peer again");
    await Promise.all([registry.refresh("b"), registry.refresh("b")]);
    assert.equal(rig.seen.length, 2, "a listing under way is joined, not repeated");
  });

  test("a failed check keeps the last listing and kind; a changed url forgets the peer", async () => {
    const answers: Array<() => Promise<PeerListing>> = [
      async () => ({ kind: "rig", models: ["tiny"], rttMs: 1 }),
      async () => {
        throw new Error("ECONNREFUSED");
      },
    ];
    let url = "http://127.0.0.1:9";
    const registry = new PeerRegistry(() => ({ b: peer("b", url) }), { list: () => answers.shift()!() });
    await registry.refresh();
    await registry.refresh();
    const [down] = registry.status();
    assert.equal(down!.reachable, false);
    assert.equal(down!.error, "ECONNREFUSED");
    assert.deepEqual(down!.models, ["tiny"], "what it listed before stays routable");
    assert.equal(registry.kindOf("b"), "rig", "and it is still known as a rig gateway");
    assert.deepEqual(registry.reachableModels(), [], "but it is not offered in the model list");
    url = "http://127.0.0.1:10";
    const [moved] = registry.status();
    assert.equal(moved!.reachable, null, "a peer at a new url is not known yet");
    assert.deepEqual(moved!.models, []);
    assert.equal(registry.kindOf("b"), undefined);
  });

  test("a request for a peer whose last check failed does not wait for it to be listed again", async () => {
    let calls = 0;
    let answer: (listing: PeerListing) => void = () => {};
    const registry = new PeerRegistry(() => ({ b: peer("b", "http://127.0.0.1:9") }), {
      onDemandMs: 0,
      list: () => {
        calls++;
        if (calls === 1) return Promise.reject(new Error("ECONNREFUSED"));
        return new Promise((resolve) => (answer = resolve));
      },
    });
    await registry.refresh();
    const waited = await Promise.race([
      registry.ensureListed("b", "tiny").then(() => false),
      new Promise((resolve) => setTimeout(() => resolve(true), 500)),
    ]);
    assert.equal(waited, false, "ensureListed returned before the listing ended");
    assert.equal(calls, 2, "the peer is listed again in the background");
    answer({ kind: "openai", models: ["tiny"], rttMs: 1 });
    await registry.refresh("b");
    assert.equal(registry.status()[0]!.reachable, true, "and the listing, once it answers, counts");
  });
});
