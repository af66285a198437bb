// Readiness in-process: a start timeout of 0 waits as long as it takes, and a `remote` server behind
// https (with a self-signed certificate, as a LAN box has) starts.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadConfig } from "../../src/config/loader.ts";
import { probe } from "../../src/supervisor/health.ts";
import { Launcher } from "../../src/supervisor/launcher.ts";
import { waitReady } from "../../src/supervisor/readiness.ts";
import { which } from "../../src/system/which.ts";

const scratch = mkdtempSync(join(tmpdir(), "rig-readiness-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const portOf = (server: { address(): unknown }) => (server.address() as AddressInfo).port;

describe("readiness", () => {
  test("timeout.start: 0 means no limit: a server that takes its time is waited for", async () => {
    const loadingUntil = Date.now() + 400;
    const server = createServer((_req, res) => res.writeHead(Date.now() < loadingUntil ? 503 : 200).end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const readyMs = await waitReady({
        name: "slow",
        healthUrl: `http://127.0.0.1:${portOf(server)}/health`,
        timeoutMs: 0,
        exited: () => false,
        tail: () => [],
        hints: [],
        progress: () => {},
      });
      assert.ok(readyMs >= 300, `ready after ${readyMs} ms`);
    } finally {
      server.close();
    }
  });

  test("a remote server at an https URL with a self-signed certificate starts", {
    skip: !which("openssl") && "openssl is not installed",
  }, async () => {
    const key = join(scratch, "key.pem");
    const cert = join(scratch, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    const seen: string[] = [];
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      seen.push(req.url ?? "");
      res.writeHead(200, { "content-type": "application/json" }).end('{"object":"list","data":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `https://127.0.0.1:${portOf(server)}/v1`;
      assert.equal(await probe(`${url}/models`), 200);
      const config = await loadConfig({
        home: join(scratch, "home"),
        env: { HOME: scratch },
        text: `servers:\n  box: { runtime: remote, url: "${url}", timeout: { start: 5s } }\n`,
      });
      const launcher = new Launcher({ config: () => config, crashed: () => {}, progress: () => {} });
      const plan = await launcher.start(config.servers.box!);
      assert.equal(plan.baseUrl, `https://127.0.0.1:${portOf(server)}`);
      assert.deepEqual(seen, ["/v1/models", "/v1/models"], "health polled over TLS");
    } finally {
      server.close();
    }
  });
});
