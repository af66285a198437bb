// The daemon left running next to a browser: pages on other origins, DNS rebinding, admin routes,
// keys, binding beyond loopback, and a second daemon for the same home. Through the built CLI.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { chromium } from "playwright-core";
import { freePort } from "../../src/system/ports.ts";
import { processStartTime, sleep } from "../../src/system/process.ts";
import { rig, rigJson } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";
import { type PsRow, readRecord, scriptedServer } from "../support/stack.ts";

const CHROMIUM = process.env.RIG_CHROMIUM ?? "/usr/bin/chromium";
const home = homesForThisFile();

/** A raw request with whatever Host and headers a browser or an attacker would send. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "GET", headers: options.headers, agent: false },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

async function started(yaml: string, gateway = "") {
  const stack = await home(yaml, { gateway });
  const result = await rig(["gateway", "start"], { home: stack.root });
  assert.equal(result.code, 0, result.stderr);
  return stack;
}

describe("a page on another origin cannot drive the gateway", () => {
  test("fetch, a form post and an <img> from another local origin reach no upstream; the daemon stays up", async () => {
    const stack = await started(`servers:\n${scriptedServer("echo", { RECORD: "record.jsonl" })}`);
    const gateway = stack.url;
    const attack = `<!doctype html><title>attacking</title>
<iframe name="sink"></iframe>
<form id="f1" target="sink" method="POST" enctype="text/plain" action="${gateway}/v1/chat/completions">
  <input name='{"model":"echo","messages":[],"x":"' value='"}'></form>
<form id="f2" target="sink" method="POST" action="${gateway}/rig/v1/shutdown"></form>
<img src="${gateway}/rig/v1/servers/echo/start">
<script>
(async () => {
  const body = JSON.stringify({ model: "echo", messages: [{ role: "user", content: "hi" }] });
  const tries = [
    fetch("${gateway}/v1/chat/completions", { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body }),
    fetch("${gateway}/rig/v1/stop-all", { method: "POST", mode: "no-cors" }),
    fetch("${gateway}/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body }),
    fetch("${gateway}/rig/v1/status").then((r) => r.text()).then((t) => (window.leaked = t)),
  ];
  document.getElementById("f1").submit();
  document.getElementById("f2").submit();
  await Promise.allSettled(tries);
  await new Promise((r) => setTimeout(r, 500));
  document.title = "done:" + (window.leaked ? "leaked" : "nothing read");
})();
</script>`;
    const site = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(attack));
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    assert.ok(
      existsSync(CHROMIUM),
      `no browser at ${CHROMIUM}: apt-get install chromium, or set RIG_CHROMIUM`,
    );
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const page = await browser.newPage();
      await page.goto(`http://localhost:${(site.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => document.title.startsWith("done:"), undefined, { timeout: 20_000 });
      assert.equal(await page.title(), "done:nothing read", "the page could not read the gateway's answers");
    } finally {
      await browser.close();
      site.close();
    }
    await sleep(300);
    const requests = readRecord(join(stack.root, "record.jsonl")).filter(
      (entry) => entry.event === "request",
    );
    assert.deepEqual(requests, [], "no request reached the upstream");
    const [echo] = await rigJson<PsRow[]>(["ps", "--all"], { home: stack.root });
    assert.equal(echo!.state, "stopped", "no server was started");
    const status = await rig(["gateway", "status"], { home: stack.root });
    assert.equal(status.code, 0, "the daemon is still running");
  });

  test("a DNS-rebinding Host is refused in the caller's dialect; allowed_hosts admits a name", async () => {
    const stack = await started(`servers:\n${scriptedServer("echo")}`, ", allowed_hosts: [rig.lan]");
    const evil = await raw(`${stack.url}/rig/v1/status`, { headers: { host: `evil.example:${stack.port}` } });
    assert.equal(evil.status, 403);
    assert.match(evil.body, /gateway\.allowed_hosts/);
    const messages = await raw(`${stack.url}/v1/messages`, {
      method: "POST",
      headers: { host: "evil.example" },
      body: "{}",
    });
    assert.equal(JSON.parse(messages.body).type, "error", "Anthropic's error shape on a Messages route");
    const named = await raw(`${stack.url}/v1/models`, { headers: { host: `rig.lan:${stack.port}` } });
    assert.equal(named.status, 200);
  });

  test("admin routes that change state need the home's token; the CLI has it", async () => {
    const stack = await started(`servers:\n${scriptedServer("echo")}`);
    const refused = await raw(`${stack.url}/rig/v1/stop-all`, { method: "POST" });
    assert.equal(refused.status, 403);
    assert.match(refused.body, /admin token/);
    assert.equal((await rig(["serve", "echo"], { home: stack.root })).code, 0);
    assert.equal((await rig(["stop", "--all"], { home: stack.root })).code, 0);
  });
});

describe("keys and binding", () => {
  test("with api_key: /metrics needs it, /health without it only says alive, x-api-key counts beside another Authorization", async () => {
    const stack = await started("", ', api_key: "k3y-for-tests"');
    assert.equal((await raw(`${stack.url}/metrics`)).status, 401);
    assert.equal(
      (await raw(`${stack.url}/metrics`, { headers: { "x-api-key": "k3y-for-tests" } })).status,
      200,
    );
    assert.deepEqual(JSON.parse((await raw(`${stack.url}/health`)).body), { status: "ok" });
    const models = await raw(`${stack.url}/v1/models`, {
      headers: { authorization: "Basic dXNlcjpwYXNz", "x-api-key": "k3y-for-tests" },
    });
    assert.equal(models.status, 200);
    assert.equal((await rig(["ps"], { home: stack.root })).code, 0, "the CLI sends the key");
  });

  test("listening beyond loopback without a key is refused at start, saying what to set", async () => {
    const stack = await home("", { gateway: "" });
    const port = await freePort();
    stack.write("rig.yaml", `gateway: { host: 0.0.0.0, port: ${port} }\n`);
    const result = await rig(["gateway", "run"], { home: stack.root, timeoutMs: 20_000 });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /gateway\.api_key.*insecure_no_key/s);
  });
});

describe("one daemon per home", () => {
  test("a second daemon exits 1 naming the first and touches nothing; a port change moves the first", async () => {
    const stack = await started(`servers:\n${scriptedServer("echo")}`);
    assert.equal((await rig(["serve", "echo"], { home: stack.root })).code, 0);
    const [before] = await rigJson<PsRow[]>(["ps"], { home: stack.root });
    const second = await rig(["gateway", "run"], { home: stack.root, timeoutMs: 20_000 });
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      new RegExp(`already runs for this home \\(pid \\d+ on http://127\\.0\\.0\\.1:${stack.port}\\)`),
    );
    const [kept] = await rigJson<PsRow[]>(["ps"], { home: stack.root });
    assert.equal(kept!.pid, before!.pid, "the first daemon's server was not reaped");

    const moved = await freePort();
    const yaml = readFileSync(join(stack.root, "rig.yaml"), "utf8").replace(
      `port: ${stack.port}`,
      `port: ${moved}`,
    );
    stack.write("rig.yaml", yaml);
    let answered = false;
    for (let i = 0; i < 50 && !answered; i++) {
      await sleep(100);
      answered = await raw(`http://127.0.0.1:${moved}/health`).then(
        () => true,
        () => false,
      );
    }
    assert.ok(answered, "the daemon listens on the new port");
    const [after] = await rigJson<PsRow[]>(["ps"], { home: stack.root });
    assert.equal(after!.pid, before!.pid, "its servers kept running");
    await assert.rejects(raw(`${stack.url}/health`), "the old port is closed");
  });

  test("a CLI whose daemon finds another one starting waits for that one to answer", async (t) => {
    const stack = await home(`servers:\n${scriptedServer("echo")}`);
    // This test process stands in for a daemon between taking the home's lock and listening: the
    // daemon the CLI starts exits at once, and the CLI must wait for this one, not give up.
    const lock = join(stack.root, "state", "daemon.lock");
    mkdirSync(dirname(lock), { recursive: true });
    writeFileSync(lock, JSON.stringify({ pid: process.pid, start_time: processStartTime(process.pid) }));
    t.after(() => rmSync(lock, { force: true }));
    const waiting = rig(["gateway", "start", "--json"], { home: stack.root, timeoutMs: 30_000 });
    await sleep(2000);
    const late = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify(
          req.url === "/health" ? { rig: { home: stack.root } } : { pid: process.pid, servers: [] },
        ),
      );
    });
    await new Promise<void>((resolve) => late.listen(stack.port, "127.0.0.1", resolve));
    t.after(() => late.close());
    const started = await waiting;
    assert.equal(started.code, 0, started.stderr);
    assert.equal(JSON.parse(started.stdout).pid, process.pid, "it names the daemon that holds the home");
  });
});
