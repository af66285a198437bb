import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { LastExit } from "../../src/supervisor/status.ts";
import { isAlive, sleep } from "../../src/system/process.ts";
import { rig, rigJson } from "../support/cli.ts";
import { homesForThisFile, type TestHome } from "../support/home.ts";
import { type PsRow, tinyServers } from "../support/stack.ts";

const stack = homesForThisFile();

async function ps(home: TestHome): Promise<PsRow[]> {
  return rigJson<PsRow[]>(["ps", "--all"], { home: home.root });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe("servers under the supervisor, with the real llama-server", () => {
  test("serve → ready → a chat request straight to its port → stop, and no process left; history keeps the exact argv", async () => {
    const home = await stack(await tinyServers());
    const served = await rig(["serve", "tiny"], { home: home.root });
    assert.equal(served.code, 0, served.stderr);
    assert.match(
      served.stderr,
      /ready: http:\/\/127\.0\.0\.1:\d+\/v1, model "tiny" \(llama\.cpp pid \d+ on port \d+\)/,
    );
    assert.doesNotMatch(
      served.stderr,
      /\d+\.\d+\.\d+\.\d+ [IWE] /,
      "progress leaves out llama-server's prefixes",
    );
    const [row] = await ps(home);
    assert.equal(row!.state, "ready");
    assert.ok(row!.pid && isAlive(row!.pid));

    // The server's own port takes the home's runtime key and nothing else: rig has it, a web page does not.
    const chat = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${row!.port}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 8 }),
      });
    assert.equal((await chat({})).status, 401, "a request without the runtime key is refused");
    const key = readFileSync(join(home.root, "state", "runtime.key"), "utf8").trim();
    assert.equal(statSync(join(home.root, "state", "runtime.key")).mode & 0o777, 0o600);
    const answer = await chat({ authorization: `Bearer ${key}` }).then(
      (response) =>
        response.json() as Promise<{ model: string; choices: Array<{ message: { content: string } }> }>,
    );
    assert.ok(answer.choices[0]!.message.content.length > 0);
    assert.equal(answer.model, "tiny", "the answer names the model by its server's name, not its file");
    const preflight = await fetch(`http://127.0.0.1:${row!.port}/slots`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "GET" },
    });
    const allowed = preflight.headers.get("access-control-allow-origin");
    assert.ok(
      allowed !== "*" && allowed !== "http://evil.example",
      `a web page may not read what llama-server holds (allowed: ${allowed})`,
    );

    const logs = await rig(["logs", "tiny", "-n", "200"], { home: home.root });
    assert.match(logs.stdout, /--- rig: launching tiny/);

    const stopped = await rig(["stop", "tiny"], { home: home.root });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal((await ps(home))[0]!.state, "stopped");
    assert.equal(isAlive(row!.pid!), false, "the llama-server process is gone");

    const history = await rigJson<
      Array<{
        id: number;
        argv: string[];
        ready_ms: number;
        exit: string;
        model_fingerprint: { size: number };
      }>
    >(["history", "tiny"], { home: home.root });
    assert.equal(history.length, 1);
    assert.deepEqual(history[0]!.argv.slice(1, 9), [
      "-m",
      history[0]!.argv[2],
      "--host",
      "127.0.0.1",
      "--port",
      String(row!.port),
      "--alias",
      "tiny",
    ]);
    assert.ok(history[0]!.ready_ms > 0);
    assert.match(history[0]!.exit, /^stopped/);
    assert.ok(history[0]!.model_fingerprint.size > 1_000_000);
    const show = await rig(["history", "show", String(history[0]!.id)], { home: home.root });
    assert.ok(show.stdout.trim().endsWith(history[0]!.argv.join(" ")), show.stdout);
  });

  test("ttl unloads an idle server", async () => {
    const home = await stack(await tinyServers({ tiny: "ttl: 2s" }));
    assert.equal((await rig(["serve", "tiny"], { home: home.root })).code, 0);
    const [ready] = await ps(home);
    assert.equal(ready!.state, "ready");
    assert.ok(ready!.ttl_left_s !== null && ready!.ttl_left_s <= 2);
    await waitFor(
      "the ttl to stop tiny",
      async () => ((await ps(home))[0]!.state === "stopped" ? true : undefined),
      10_000,
    );
    assert.equal(isAlive(ready!.pid!), false);
    const [launch] = await rigJson<Array<{ exit: string }>>(["history"], { home: home.root });
    assert.match(launch!.exit, /^ttl/);
  });

  test("starting a server stops the running members of its group", async () => {
    const home = await stack(
      await tinyServers({ first: "group: one-at-a-time", second: "group: one-at-a-time", other: "" }),
    );
    for (const name of ["first", "other", "second"])
      assert.equal((await rig(["serve", name], { home: home.root })).code, 0);
    const states = Object.fromEntries((await ps(home)).map((row) => [row.name, row.state]));
    assert.deepEqual(states, { first: "stopped", second: "ready", other: "ready" });
  });

  test("a broken model file fails with the log tail, and nothing is left running", async () => {
    const home = await stack(await tinyServers());
    const broken = home.write("models/broken.gguf", "GGUF this is not a model");
    writeFileSync(
      join(home.root, "rig.yaml"),
      (await import("node:fs")).readFileSync(join(home.root, "rig.yaml"), "utf8") +
        `  broken:\n    runtime: llama.cpp\n    model: ${broken}\n`,
    );
    const result = await rig(["serve", "broken"], { home: home.root });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /broken exited while starting/);
    assert.match(result.stderr, /last log lines:/);
    assert.match(result.stderr, /gguf|model/i);
    const [row] = (await ps(home)).filter((candidate) => candidate.name === "broken");
    assert.equal(row!.state, "failed");
    const [launch] = await rigJson<Array<{ exit: string }>>(["history", "broken"], { home: home.root });
    assert.match(launch!.exit, /failed to start/);
  });

  test("kill -9 of the server is noticed, and the next serve works", async () => {
    const home = await stack(await tinyServers());
    assert.equal((await rig(["serve", "tiny"], { home: home.root })).code, 0);
    const [before] = await ps(home);
    process.kill(before!.pid!, "SIGKILL");
    const failed = await waitFor("state failed", async () => {
      const [row] = await ps(home);
      return row!.state === "failed" ? row : undefined;
    });
    assert.equal(failed.state, "failed");
    const ps2 = await rig(["ps", "--all"], { home: home.root });
    assert.match(ps2.stdout, /exited unexpectedly \(signal SIGKILL\)/);
    const [withExit] = await rigJson<Array<{ last_exit: LastExit | null }>>(["ps", "--all"], {
      home: home.root,
    });
    assert.equal(withExit!.last_exit?.signal, "SIGKILL");
    assert.equal(withExit!.last_exit?.code, null);
    assert.match(withExit!.last_exit?.hint ?? "", /most likely by the kernel for want of memory/);
    assert.equal((await rig(["serve", "tiny"], { home: home.root })).code, 0);
    const [after] = await ps(home);
    assert.equal(after!.state, "ready");
    assert.notEqual(after!.pid, before!.pid);
  });

  test("kill -9 of the daemon leaves no llama-server running unowned; a new daemon starts clean", async () => {
    const home = await stack(await tinyServers());
    assert.equal((await rig(["serve", "tiny"], { home: home.root })).code, 0);
    const status = await rigJson<{ pid: number }>(["gateway", "status"], { home: home.root });
    const [row] = await ps(home);
    process.kill(status.pid, "SIGKILL");
    await waitFor(
      "the llama-server to die with its daemon",
      async () => (isAlive(row!.pid!) ? undefined : true),
      10_000,
    );
    assert.equal((await rig(["serve", "tiny"], { home: home.root })).code, 0);
    assert.equal((await ps(home))[0]!.state, "ready");
  });

  test("a missing executable names the runtime and the key to set; a taken port names its holder", async () => {
    const home = await stack(
      `runtimes:\n  llama.cpp: { command: /nowhere/llama-server }\nservers:\n  tiny: { runtime: llama.cpp, model: ${JSON.stringify(await (await import("../support/llama.ts")).tinyModel())} }\n`,
    );
    const missing = await rig(["serve", "tiny"], { home: home.root });
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /runtime llama\.cpp: `\/nowhere\/llama-server` not found; install it or set runtimes\.llama\.cpp\.command/,
    );

    const { createServer } = await import("node:net");
    const blocker = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => blocker.once("listening", resolve));
    const port = (blocker.address() as { port: number }).port;
    const busy = await stack(await tinyServers({ tiny: `port: ${port}` }));
    const taken = await rig(["serve", "tiny"], { home: busy.root });
    blocker.close();
    assert.equal(taken.code, 1);
    assert.match(
      taken.stderr,
      new RegExp(`port ${port} of server tiny is already taken by pid ${process.pid}`),
    );
  });
});
