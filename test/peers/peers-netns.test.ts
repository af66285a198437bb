// Two gateways on two real hosts made on one machine (a network namespace each): A has B as its peer
// `b`. A request for `b/tiny` sent to A is answered by B's llama-server, in the Chat and the Messages
// dialect; Claude Code runs through A on `b/tiny`; a server of A's that cannot start falls back to
// `b/tiny`, and with B's gateway stopped, to A's own tiny server; `rig ps` on A shows b reachable with
// its round trip, and unreachable once B's cable is pulled. Every client runs inside a namespace.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { agentBin } from "../../scripts/install-agents.mjs";
import { findLlamaServer } from "../../src/install/llama-cpp.ts";
import { sleep } from "../../src/system/process.ts";
import { RIG_MAIN } from "../support/cli.ts";
import { llamaServer, tinyModel } from "../support/llama.ts";
import { type Host, makeNetwork, type Network, namespacesUnavailable } from "../support/netns.ts";

const CLIENT = fileURLToPath(new URL("./peer-client.mjs", import.meta.url));
/** The longest one step may take: a server's start and a short stream, a failure's notice. */
const BOUND_MS = 60_000;
const PORT = 7878;

interface ClientResult {
  status: number;
  server: string | null;
  text: string;
  failure: string | null;
}

const skip =
  namespacesUnavailable() ??
  (findLlamaServer() ? undefined : "llama-server is not built (rig install llama.cpp)");

describe("peers between two gateways on two hosts", { skip }, () => {
  let network: Network;
  let hostA: Host;
  let hostB: Host;
  const homes: Record<"a" | "b", string> = { a: "", b: "" };

  /** Runs the built CLI inside a host's namespace, as a person logged in there would. */
  const rigOn = (host: Host, home: string, args: string[], timeoutMs = BOUND_MS * 2) =>
    network.run(host, [process.execPath, RIG_MAIN, ...args], {
      env: { ...process.env, RIG_HOME: home, NO_COLOR: "1" },
      timeoutMs,
    });

  /** One request from inside A's namespace to A's gateway (a GET without a body). */
  const onA = (path: string, body?: unknown): ClientResult => {
    const run = network.run(
      hostA,
      [
        process.execPath,
        CLIENT,
        `http://${hostA.address}:${PORT}${path}`,
        "a-key",
        body === undefined ? "" : JSON.stringify(body),
        String(BOUND_MS),
      ],
      { timeoutMs: BOUND_MS + 5000 },
    );
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as ClientResult;
  };

  const gatewayLog = (home: string) => readFileSync(join(home, "logs", "gateway.log"), "utf8");
  /** The gateway writes its log in batches: waits (bounded) until a line matches. */
  const logWith = async (home: string, pattern: RegExp): Promise<string> => {
    let log = "";
    for (let i = 0; i < 50 && !pattern.test(log); i++) {
      await sleep(100);
      log = gatewayLog(home);
    }
    return log;
  };

  const psOnA = () => {
    const ps = rigOn(hostA, homes.a, ["ps", "--json"], 30_000);
    assert.equal(ps.status, 0, ps.stderr);
    return (JSON.parse(ps.stdout) as Array<Record<string, unknown>>).find((row) => row.name === "b");
  };

  const chat = (model: string) => ({
    model,
    max_tokens: 8,
    stream: true,
    messages: [{ role: "user", content: "Say something." }],
  });

  before(async () => {
    network = makeNetwork(2);
    [hostA, hostB] = network.hosts as [Host, Host];
    const model = await tinyModel({ endsTurns: true });
    const tiny = (name: string) => [
      `  ${name}:`,
      "    runtime: llama.cpp",
      `    model: ${JSON.stringify(model)}`,
      "    context: 65536",
      "    args: [--threads, 1, --parallel, 2]",
      "    request: { set: { max_tokens: 64 } }",
    ];
    const home = (name: "a" | "b", host: Host, lines: string[]) => {
      const root = mkdtempSync(join(tmpdir(), `rig-peer-${name}-`));
      writeFileSync(
        join(root, "rig.yaml"),
        [
          `gateway: { host: ${host.address}, port: ${PORT}, api_key: ${name}-key }`,
          "paths: { models: [models], bin: bin }",
          "runtimes:",
          `  llama.cpp: { command: ${JSON.stringify(llamaServer())} }`,
          ...lines,
          "",
        ].join("\n"),
      );
      homes[name] = root;
    };
    home("b", hostB, ["servers:", ...tiny("tiny")]);
    home("a", hostA, [
      "peers:",
      `  b: { url: "http://${hostB.address}:${PORT}", api_key: b-key, timeout: 60s }`,
      "servers:",
      ...tiny("tiny"),
      "  main:",
      "    runtime: command",
      `    command: [${JSON.stringify(process.execPath)}, -e, "process.exit(3)"]`,
      "    fallback: [b/tiny, tiny]",
      "harnesses:",
      `  claude-code: { command: ${JSON.stringify(agentBin("claude-code"))} }`,
      "agents:",
      "  claude: { harness: claude-code, server: b/tiny, request: { set: { max_tokens: 64 } } }",
    ]);
    for (const [host, root] of [
      [hostB, homes.b],
      [hostA, homes.a],
    ] as const) {
      const started = rigOn(host, root, ["gateway", "start"]);
      assert.equal(started.status, 0, started.stderr + started.stdout);
    }
  });

  after(() => {
    // B's cable is pulled by then: its daemon is stopped by its pid (the CLI falls back to it).
    if (homes.b) rigOn(hostB, homes.b, ["gateway", "stop"]);
    if (homes.a) rigOn(hostA, homes.a, ["gateway", "stop"]);
    network?.close();
    for (const root of Object.values(homes)) if (root) rmSync(root, { recursive: true, force: true });
  });

  test("a streamed request for b/tiny sent to A is answered by B's llama-server, in Chat and in Messages", async () => {
    const viaChat = onA("/v1/chat/completions", chat("b/tiny"));
    assert.equal(viaChat.status, 200, viaChat.text + viaChat.failure);
    assert.equal(viaChat.server, "b/tiny");
    assert.match(viaChat.text, /"delta":\{[^}]*"content":"[^"]+"/);
    assert.match(viaChat.text, /data: \[DONE\]/);
    const viaMessages = onA("/v1/messages", chat("b/tiny"));
    assert.equal(viaMessages.status, 200, viaMessages.text + viaMessages.failure);
    assert.match(viaMessages.text, /event: content_block_delta/);
    assert.match(viaMessages.text, /event: message_stop/);
    // B answered both with its own server, the Messages request in its own dialect (B translates, once).
    const bLog = await logWith(homes.b, /POST \/v1\/messages server=tiny status=200/);
    assert.match(bLog, /POST \/v1\/chat\/completions server=tiny status=200 stream/);
    assert.match(bLog, /POST \/v1\/messages server=tiny status=200 stream/);
    const aLog = await logWith(homes.a, /POST \/v1\/messages server=b\/tiny status=200/);
    assert.doesNotMatch(aLog, /server tiny: ready/, "A's own tiny server was never started");
  });

  test("A lists b's models, and rig ps on A shows b reachable with its round trip", () => {
    const models = onA("/v1/models");
    assert.equal(models.status, 200, models.text);
    const ids = (JSON.parse(models.text) as { data: Array<{ id: string }> }).data.map((entry) => entry.id);
    assert.ok(ids.includes("b/tiny") && ids.includes("tiny") && ids.includes("main"), ids.join());
    const b = psOnA();
    assert.equal(b?.state, "reachable", JSON.stringify(b));
    assert.equal(b?.runtime, "peer");
    assert.equal(b?.kind, "rig");
    assert.ok(typeof b?.rtt_ms === "number" && b.rtt_ms < 5000, JSON.stringify(b));
    // As a person reads them: ps lists b afresh with its round trip; ls as the daemon last listed it.
    const psText = rigOn(hostA, homes.a, ["ps"], 30_000);
    assert.match(psText.stdout, /\bb\b.*reachable.*\d+ ms/);
    const ls = rigOn(hostA, homes.a, ["ls", "--json"], 30_000);
    const listed = (
      JSON.parse(ls.stdout) as { peers: Array<{ name: string; reachable: boolean; models: string[] }> }
    ).peers;
    assert.deepEqual(
      listed.map((peer) => [peer.name, peer.reachable, peer.models]),
      [["b", true, ["tiny"]]],
    );
  });

  test("Claude Code runs through A on b/tiny", {
    skip: !existsSync(agentBin("claude-code")) && "Claude Code is not installed",
  }, async () => {
    const run = network.run(
      hostA,
      [
        process.execPath,
        RIG_MAIN,
        "run",
        "claude",
        "--",
        "-p",
        "say hi",
        "--output-format",
        "json",
        "--allowedTools",
        "Bash",
      ],
      { env: { ...process.env, RIG_HOME: homes.a, NO_COLOR: "1", CI: "1" }, timeoutMs: 240_000 },
    );
    assert.equal(run.status, 0, `${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
    const aLog = await logWith(
      homes.a,
      /POST \/agents\/claude\/v1\/messages server=b\/tiny agent=claude status=200/,
    );
    assert.match(aLog, /POST \/agents\/claude\/v1\/messages server=b\/tiny agent=claude status=200/);
    const bLog = await logWith(homes.b, /POST \/v1\/messages server=tiny status=200/);
    assert.ok(
      bLog.split("POST /v1/messages server=tiny status=200").length > 2,
      "B answered the agent's requests",
    );
  });

  test("a server that cannot start falls back to b/tiny; with B's gateway stopped, to A's own tiny", async () => {
    const viaPeer = onA("/v1/chat/completions", chat("main"));
    assert.equal(viaPeer.status, 200, viaPeer.text + viaPeer.failure);
    assert.match(viaPeer.text, /data: \[DONE\]/);
    await logWith(homes.a, /main could not take a chat request/);
    const stopped = rigOn(hostB, homes.b, ["gateway", "stop"]);
    assert.equal(stopped.status, 0, stopped.stderr);
    const viaLocal = onA("/v1/chat/completions", chat("main"));
    assert.equal(viaLocal.status, 200, viaLocal.text + viaLocal.failure);
    assert.match(viaLocal.text, /data: \[DONE\]/);
    const aLog = await logWith(homes.a, /POST \/v1\/chat\/completions server=tiny status=200/);
    assert.match(
      aLog,
      /POST \/v1\/chat\/completions server=b\/tiny status=200 stream/,
      "the first went to B",
    );
    assert.match(aLog, /b\/tiny could not take a chat request \(could not be reached: .*\); trying tiny/);
    assert.match(
      aLog,
      /POST \/v1\/chat\/completions server=tiny status=200 stream/,
      "the second, to A's tiny",
    );
    const direct = onA("/v1/chat/completions", chat("b/tiny"));
    assert.ok(
      direct.status === 502 || /could not be reached/.test(direct.text),
      `a peer's model has no fallback of its own: ${direct.status} ${direct.text.slice(0, 300)}`,
    );
  });

  test("b is unreachable in rig ps once B's cable is pulled", () => {
    const restarted = rigOn(hostB, homes.b, ["gateway", "start"]);
    assert.equal(restarted.status, 0, restarted.stderr);
    assert.equal(psOnA()?.state, "reachable");
    network.unplug(hostB);
    const started = Date.now();
    const b = psOnA();
    assert.equal(b?.state, "unreachable", JSON.stringify(b));
    assert.equal(b?.rtt_ms, null);
    assert.ok(typeof b?.error === "string" && b.error.length > 0);
    assert.ok(Date.now() - started < 15_000, "rig ps answers within the listing's bound");
  });
});
