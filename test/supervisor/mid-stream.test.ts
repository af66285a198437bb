// Servers that end while a client streams, in-process: the real Supervisor and gateway proxy over
// server processes rig launches. A crash is explained to the clients in flight (signal, hint), `rig
// ps` keeps the last exit, a server that keeps crashing is held until someone asks; a server swapped
// out of its group lets its streams finish, and one cut at the drain limit says rig stopped it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadConfig } from "../../src/config/loader.ts";
import { ModelProxy } from "../../src/gateway/proxy.ts";
import type { ServerStatus } from "../../src/supervisor/status.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { scriptedServer, tinyServers } from "../support/stack.ts";

interface Stack {
  url: string;
  supervisor: Supervisor;
  status(name: string): ServerStatus;
}

const stacks: Array<{ supervisor: Supervisor; gateway: HttpServer; proxy: ModelProxy; root: string }> = [];
after(async () => {
  for (const { supervisor, gateway, proxy, root } of stacks) {
    await supervisor.stopAll();
    gateway.closeAllConnections();
    gateway.close();
    await proxy.close();
    rmSync(root, { recursive: true, force: true });
  }
});

/** A home with this rig.yaml, its supervisor, and the gateway's model routes on a local port. */
async function stack(yaml: string, files: Record<string, string> = {}): Promise<Stack> {
  const root = mkdtempSync(join(tmpdir(), "rig-mid-stream-"));
  writeFileSync(join(root, "rig.yaml"), yaml);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text);
  const config = await loadConfig({ home: root });
  const supervisor = new Supervisor(config);
  const proxy = new ModelProxy({ config: () => config, supervisor, recorder: { record: () => {} } });
  const gateway = createServer((req, res) => {
    void proxy.handle(req, res, (req.url ?? "/").split("?")[0]!);
  });
  await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
  stacks.push({ supervisor, gateway, proxy, root });
  return {
    url: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`,
    supervisor,
    status: (name) => supervisor.status().find((server) => server.name === name)!,
  };
}

const ask = (url: string, route: "chat" | "messages", model: string, extra: object = {}) =>
  fetch(`${url}/v1/${route === "chat" ? "chat/completions" : "messages"}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      stream: true,
      max_tokens: 64,
      messages: [{ role: "user", content: "hi" }],
      ...extra,
    }),
  });

describe("a server that dies after it was ready", () => {
  test("the stream in flight ends with an error naming the exit; ps keeps it; three crashes in a minute hold the server until asked", async () => {
    const { url, supervisor, status } = await stack(
      `servers:\n${scriptedServer("flaky", { SCRIPT: "script.json" })}`,
      {
        "script.json": JSON.stringify([
          { deltas: [{ content: "one" }, { content: " two" }, { content: " three" }], die_after: 2 },
        ]),
      },
    );
    const exitNamed = /flaky exited \(exit code 17\): its log tells why: `rig logs flaky`/;

    const native = await (await ask(url, "chat", "flaky")).text();
    assert.match(native, /"content":"one"/);
    assert.match(
      native,
      /"message":"server flaky stopped mid-response: [^"]+; flaky exited \(exit code 17\)/,
    );
    assert.match(native, exitNamed);
    const { last_exit: lastExit } = status("flaky");
    assert.equal(lastExit?.code, 17);
    assert.equal(lastExit?.signal, null);
    assert.match(lastExit?.hint ?? "", /rig logs flaky/);
    assert.ok(Date.now() - Date.parse(lastExit!.at) < 10_000, `at ${lastExit?.at}`);
    assert.equal(status("flaky").state, "failed");

    const translated = await (await ask(url, "messages", "flaky")).text();
    assert.match(translated, /event: error/);
    assert.match(translated, exitNamed);
    assert.match(await (await ask(url, "chat", "flaky")).text(), exitNamed);

    const held = await ask(url, "chat", "flaky");
    assert.equal(held.status, 503);
    const heldBody = (await held.json()) as { error: { message: string } };
    assert.match(heldBody.error.message, /flaky crashed 3 times in 1m \(last: flaky exited unexpectedly/);
    assert.match(heldBody.error.message, /until asked: `rig serve flaky`/);
    const heldAnthropic = await ask(url, "messages", "flaky");
    assert.equal(heldAnthropic.status, 503);
    const anthropicBody = (await heldAnthropic.json()) as { type: string; error: { message: string } };
    assert.equal(anthropicBody.type, "error");
    assert.match(anthropicBody.error.message, /crashed 3 times/);
    assert.match(status("flaky").error ?? "", /crashed 3 times/);

    await supervisor.ensureReady("flaky");
    assert.equal(status("flaky").state, "ready", "rig serve starts it again");
  });

  for (const [signal, hint] of [
    [
      "SIGILL",
      /it ran a CPU instruction this machine does not have: rebuild it with `rig install llama\.cpp`/,
    ],
    ["SIGKILL", /most likely by the kernel for want of memory/],
  ] as const) {
    test(`llama-server killed by ${signal} mid-stream: the client is told the signal and what to do`, async () => {
      const { url, status } = await stack(await tinyServers());
      const response = await ask(url, "chat", "tiny", { max_tokens: 100_000 });
      const reader = response.body!.getReader();
      const first = await reader.read();
      assert.match(Buffer.from(first.value!).toString(), /data: /);
      process.kill(status("tiny").pid!, signal);
      let text = "";
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
        text += Buffer.from(chunk.value).toString();
      assert.match(text, new RegExp(`tiny exited \\(signal ${signal}\\)`));
      assert.match(text, hint);
      assert.equal(status("tiny").last_exit?.signal, signal);
      assert.match(status("tiny").error ?? "", new RegExp(`tiny exited unexpectedly \\(signal ${signal}\\)`));
    });
  }
});

describe("a server swapped out of its group", () => {
  test("its stream finishes first when it can; one that outlasts the drain limit ends with an error naming rig's stop", async () => {
    const slow = JSON.stringify([
      { deltas: Array.from({ length: 12 }, () => ({ content: "x" })), chunk_delay_ms: 150 },
    ]);
    const { url, status } = await stack(
      `servers:\n${scriptedServer("a", { SCRIPT: "a.json" }, "group: g\ntimeout: { response: 3s }")}${scriptedServer("b", { SCRIPT: "b.json" }, "group: g")}${scriptedServer("c", { SCRIPT: "a.json" }, "group: g\ntimeout: { response: 1s }")}`,
      { "a.json": slow, "b.json": JSON.stringify([{ deltas: [{ content: "b here" }] }]) },
    );
    const swapDuring = async (name: string) => {
      const response = await ask(url, "chat", name);
      const reader = response.body!.getReader();
      await reader.read();
      const other = ask(url, "chat", "b");
      await new Promise((resolve) => setTimeout(resolve, 100));
      const stateWhileDraining = status(name).state;
      let text = "";
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
        text += Buffer.from(chunk.value).toString();
      assert.match(await (await other).text(), /b here/, "b is served after the swap");
      return { text, stateWhileDraining };
    };

    const finished = await swapDuring("a");
    assert.equal(finished.stateWhileDraining, "stopping");
    assert.match(finished.text, /data: \[DONE\]/);
    assert.doesNotMatch(finished.text, /error/, "a's stream ran to its end (1.8 s, within its 3 s limit)");

    const cut = await swapDuring("c");
    assert.match(
      cut.text,
      /"message":"server c stopped mid-response: [^"]+; c exited \([^)]+\): stopped by rig: group g: b starting; 1 request still running after 1s"/,
    );
  });
});
