// A llama.cpp server split across workers does not start while one of them is down: the start names
// the worker and says how to bring it up. In-process, against a listening and a closed loopback port.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, before, test } from "node:test";
import { machineProblems } from "../../src/cli/doctor.ts";
import { loadConfig } from "../../src/config/loader.ts";
import { downWorkers, missingExecutable } from "../../src/supervisor/preflight.ts";
import { answers, freePort } from "../../src/system/ports.ts";

let listening: Server;
let openPort: number;
let closedPort: number;
let otherClosedPort: number;

before(async () => {
  closedPort = await freePort();
  otherClosedPort = await freePort();
  listening = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
  openPort = (listening.address() as { port: number }).port;
});
after(() => listening.close());

const configWith = (rpc: string) =>
  loadConfig({
    home: "/nonexistent/rig-workers-preflight",
    env: { HOME: "/nonexistent" },
    text: `
workers:
  w1: { host: 127.0.0.1, port: ${openPort} }
  w2: { host: 127.0.0.1, port: ${closedPort} }
  w3: { host: 127.0.0.1, port: ${otherClosedPort} }
servers:
  split: { runtime: llama.cpp, model: /models/big.gguf, rpc: ${rpc} }
`,
  });

test("a worker that does not answer fails the start, named with its address and what to do", async () => {
  const config = await configWith("[w1, w2]");
  const problem = await downWorkers(config, config.servers.split!);
  assert.equal(problem?.code, "worker-down");
  assert.equal(
    problem?.standalone,
    `worker w2 (127.0.0.1:${closedPort}) does not answer: start it with \`rig worker run\` on that host`,
  );
  assert.deepEqual(problem?.entry, ["workers", "w2"]);
});

test("every worker down is named", async () => {
  const config = await configWith("[w2, w1, w3]");
  const problem = await downWorkers(config, config.servers.split!);
  assert.equal(
    problem?.standalone,
    `workers w2 (127.0.0.1:${closedPort}), w3 (127.0.0.1:${otherClosedPort}) do not answer: start them with \`rig worker run\` on their hosts`,
  );
});

test("workers that answer let the start go on", async () => {
  const config = await configWith("[w1]");
  assert.equal(await downWorkers(config, config.servers.split!), undefined);
});

test("a host that swallows the connection counts as down within the bound", async () => {
  // 192.0.2.0/24 is TEST-NET-1: routed nowhere, so the connection neither succeeds nor is refused.
  const started = Date.now();
  assert.equal(await answers("192.0.2.1", 50052, 300), false);
  assert.ok(Date.now() - started < 2000);
});

test("a split server whose llama-server is missing is told to build the one with RPC", async () => {
  const config = await loadConfig({
    home: "/nonexistent/rig-workers-preflight",
    env: { HOME: "/nonexistent" },
    text: `
runtimes:
  llama.cpp: { command: /nonexistent/llama-server }
workers:
  w1: { host: 127.0.0.1 }
servers:
  split: { runtime: llama.cpp, model: /models/big.gguf, rpc: [w1] }
  alone: { runtime: llama.cpp, model: /models/big.gguf }
`,
  });
  assert.match(
    missingExecutable(config, config.servers.split!)!.message,
    /`rig install llama\.cpp --rpc` builds it with RPC/,
  );
  assert.match(
    missingExecutable(config, config.servers.alone!)!.message,
    /`rig install llama\.cpp` builds it$/,
  );
});

test("doctor warns about a worker beyond loopback and about a used worker that is down", async () => {
  const config = await loadConfig({
    home: "/nonexistent/rig-workers-preflight",
    env: { HOME: "/nonexistent" },
    text: `
workers:
  near: { host: 127.0.0.2, port: ${openPort} }
  lan: { host: 192.0.2.1 }
  down: { host: 127.0.0.1, port: ${closedPort} }
servers:
  split: { runtime: llama.cpp, model: /models/big.gguf, rpc: [down] }
`,
  });
  const problems = await machineProblems(config);
  const open = problems.filter((problem) => problem.code === "worker-open");
  assert.equal(open.length, 1);
  assert.match(
    open[0]!.message,
    /^worker lan \(192\.0\.2\.1:50052\): llama\.cpp's rpc-server has no authentication/,
  );
  const down = problems.filter((problem) => problem.code === "worker-down");
  assert.equal(down.length, 1);
  assert.equal(down[0]!.level, "warning");
  assert.equal(
    down[0]!.message,
    `worker down (127.0.0.1:${closedPort}) does not answer: start it with \`rig worker run\` on that host (a server split onto it fails to start until then)`,
  );
});
