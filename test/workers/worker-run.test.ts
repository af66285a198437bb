// `rig worker run`: the real rpc-server, run by the built CLI in the foreground.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { answers, freePort } from "../../src/system/ports.ts";
import { isAlive } from "../../src/system/process.ts";
import { RIG_MAIN, rig } from "../support/cli.ts";
import { firstLine } from "../support/lines.ts";
import { rpcServer } from "../support/llama.ts";
import { type Host, makeNetwork, namespacesUnavailable } from "../support/netns.ts";

test("refuses to listen beyond loopback without --insecure-network, saying why", async () => {
  rpcServer();
  for (const host of ["0.0.0.0", "10.1.2.3"]) {
    const result = await rig(["worker", "run", "--host", host]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`refusing to listen on ${host.replace(/\./g, "\\.")}`));
    assert.match(result.stderr, /no authentication/);
    assert.match(result.stderr, /--insecure-network/);
  }
});

test("runs rpc-server on loopback until Ctrl-C, which stops it too", async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [RIG_MAIN, "worker", "run", "--port", String(port), "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    const ready = JSON.parse(await firstLine(child.stdout)) as {
      listening: string;
      pid: number;
      argv: string[];
    };
    assert.equal(ready.listening, `127.0.0.1:${port}`);
    assert.deepEqual(ready.argv.slice(1), ["--host", "127.0.0.1", "--port", String(port)]);
    assert.equal(await answers("127.0.0.1", port, 2000), true);
    child.kill("SIGINT");
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
    assert.equal(isAlive(ready.pid), false, "rpc-server ended with it");
    assert.equal(await answers("127.0.0.1", port, 500), false);
  } finally {
    if (child.exitCode === null) child.kill("SIGTERM");
  }
});

test("a port already taken fails with what to check", async () => {
  const port = await freePort();
  const first = spawn(process.execPath, [RIG_MAIN, "worker", "run", "--port", String(port), "--json"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  try {
    await firstLine(first.stdout);
    const second = await rig(["worker", "run", "--port", String(port)], { timeoutMs: 60_000 });
    assert.equal(second.code, 1);
    assert.match(second.stderr, /127\.0\.0\.1:\d+ is already in use by .*: pick another --port/);
  } finally {
    first.kill("SIGTERM");
    await once(first, "exit");
  }
});

test("an address this machine does not have yet is waited for, as a service at boot waits for its network", {
  skip: namespacesUnavailable(),
}, async () => {
  const network = makeNetwork(1);
  try {
    const [host] = network.hosts as [Host];
    const later = host.address.replace(/\.\d+$/, ".50");
    const worker = network.spawn(
      host,
      [process.execPath, RIG_MAIN, "worker", "run", "--host", later, "--insecure-network", "--json"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const waiting = await firstLine(worker.stderr!);
    assert.match(
      waiting,
      new RegExp(`waiting up to \\d+s for ${later.replace(/\./g, "\\.")} to be an address`),
    );
    execFileSync("ip", ["-n", host.ns, "addr", "add", `${later}/24`, "dev", "eth0"]);
    const ready = JSON.parse(await firstLine(worker.stdout!)) as { listening: string };
    assert.equal(ready.listening, `${later}:50052`);
    worker.kill("SIGTERM");
    const [code] = await once(worker, "exit");
    assert.equal(code, 0);
  } finally {
    network.close();
  }
});
