// What a server reaches beyond itself, as rig.yaml says it: peers, fallbacks, rpc workers, vLLM nodes.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadConfig, peerModel } from "../../src/config/loader.ts";
import { ConfigError, type Problem } from "../../src/config/problems.ts";

function home(yaml: string): string {
  const root = mkdtempSync(join(tmpdir(), "rig-hops-"));
  writeFileSync(join(root, "rig.yaml"), yaml);
  return root;
}

async function problemsOf(yaml: string): Promise<Problem[]> {
  try {
    await loadConfig({ home: home(yaml), env: { HOME: homedir() } });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.problems;
  }
  assert.fail("the config loaded, but it should not have");
}

const at = (problem: Problem) => `${problem.where?.line}:${problem.where?.col}`;

describe("peers, fallbacks, workers and nodes in rig.yaml", () => {
  test("a peer's model routes by <peer>/<model>; agents and fallbacks may name it", async () => {
    const config = await loadConfig({
      home: home(`peers:
  box2: { url: "http://box2:7878/", api_key: "\${env:BOX2_KEY}", timeout: 30s }
workers:
  w1: { host: 10.0.0.2 }
servers:
  big: { runtime: llama.cpp, model: big.gguf, rpc: [w1], tensor_split: [1, 1], fallback: [box2/big, small] }
  small: { runtime: llama.cpp, model: small.gguf }
agents:
  c: { harness: claude-code, server: box2/org/model }
`),
      env: { HOME: homedir(), BOX2_KEY: "k2" },
    });
    assert.deepEqual(config.peers.box2, {
      name: "box2",
      url: "http://box2:7878",
      apiKey: "k2",
      timeoutMs: 30_000,
    });
    assert.deepEqual(config.workers.w1, { name: "w1", host: "10.0.0.2", port: 50052 });
    assert.deepEqual(config.servers.big!.fallback, ["box2/big", "small"]);
    assert.equal(peerModel(config, "box2/org/model")?.model, "org/model", "the model keeps its own slashes");
    assert.equal(peerModel(config, "nobody/model"), undefined);
    assert.equal(peerModel(config, "big"), undefined);
  });

  test("a fallback or worker that does not exist, and keys for another runtime, are errors at their place", async () => {
    const problems = await problemsOf(`workers:
  w1: { host: 10.0.0.2, port: 50052 }
servers:
  big: { runtime: llama.cpp, model: big.gguf, fallback: [big, smal, box3/x], rpc: [w2] }
  small: { runtime: llama.cpp, model: small.gguf }
  v: { runtime: vllm, model: org/m, rpc: [w1] }
  l: { runtime: llama.cpp, model: l.gguf, nodes: [{ host: a }] }
`);
    const byCode = (code: string) => problems.filter((problem) => problem.code === code);
    assert.match(byCode("fallback-self")[0]!.message, /`big` is this server itself/);
    assert.equal(at(byCode("fallback-self")[0]!), "4:58");
    const unknown = byCode("unknown-server").map((problem) => problem.message);
    assert.match(unknown[0]!, /unknown server `smal`.*did you mean `small`/);
    assert.match(unknown[1]!, /no peer `box3` in `peers:`/);
    assert.match(byCode("unknown-worker")[0]!.message, /unknown worker `w2`.*did you mean `w1`/);
    assert.match(byCode("rpc-runtime")[0]!.message, /`rpc:` is only for llama.cpp/);
    assert.match(byCode("nodes-runtime")[0]!.message, /`nodes:` is only for vllm/);
  });

  test("a worker at an IPv6 address is refused where it is written, saying what to give instead", async () => {
    const problems = await problemsOf(`workers:\n  w6: { host: "fd00::2" }\n`);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /cannot take an IPv6 address.*host name or an IPv4 address/);
    assert.equal(at(problems[0]!), "2:15");
  });
});
