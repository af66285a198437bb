// Two gateways whose fallbacks lead back to each other, in-process: the request must end at once
// with a 508 naming the loop, not bounce between them (it once made ten thousand requests in 15 s).
import assert from "node:assert/strict";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { type Config, loadConfig } from "../../src/config/loader.ts";
import { ModelProxy, type ServerLeases } from "../../src/gateway/proxy.ts";
import type { RequestRecord } from "../../src/ledger/ledger.ts";
import { PeerRegistry } from "../../src/peers/registry.ts";
import { stoppedStatus } from "../../src/supervisor/status.ts";

/** A gateway whose one server never starts, so every request for it takes the fallback. */
async function gateway(): Promise<{
  url: string;
  use(otherUrl: string): Promise<RequestRecord[]>;
  close(): void;
}> {
  let proxy: ModelProxy | undefined;
  let peers: PeerRegistry | undefined;
  const http: HttpServer = createServer((req, res) => {
    void proxy!.handle(req, res, (req.url ?? "/").split("?")[0]!).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url,
    async use(otherUrl) {
      const config: Config = await loadConfig({
        home: "/nonexistent/rig-peer-loop",
        env: { HOME: "/nonexistent" },
        text: `peers:\n  other: { url: "${otherUrl}" }\nservers:\n  fb: { runtime: llama.cpp, model: /m/x.gguf, fallback: [other/fb] }\n`,
      });
      const leases: ServerLeases = {
        lease: async (name) => {
          throw new Error(`${name} exited while starting`);
        },
        release() {},
        endpoint: () => undefined,
        status: () => Object.values(config.servers).map(stoppedStatus),
      };
      const records: RequestRecord[] = [];
      peers = new PeerRegistry(() => config.peers, { listTimeoutMs: 2000 });
      proxy = new ModelProxy({
        config: () => config,
        supervisor: leases,
        recorder: { record: (r) => records.push(r) },
        peers,
      });
      return records;
    },
    close() {
      peers?.close();
      void proxy?.close();
      http.close();
    },
  };
}

const a = await gateway();
const b = await gateway();
after(() => {
  a.close();
  b.close();
});

test("fallbacks that lead back to a gateway end there with a 508 saying so, after one round", async () => {
  const recordsA = await a.use(b.url);
  const recordsB = await b.use(a.url);
  const response = await fetch(`${a.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "fb", messages: [{ role: "user", content: "hi" }] }),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(response.status, 508);
  const body = (await response.json()) as { error: { message: string } };
  assert.match(body.error.message, /came back to the gateway it passed through before/);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(recordsA.length + recordsB.length <= 3, `${recordsA.length} + ${recordsB.length} requests`);
});
