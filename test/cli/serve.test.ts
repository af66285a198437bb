// `rig serve`: it says when it starts the gateway (which outlives it and `rig stop`), and its ready line
// names where requests go: the gateway's URL and the model name, the server's own port only as its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isAlive } from "../../src/system/process.ts";
import { rig } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";
import { tinyServers } from "../support/stack.ts";

const newHome = homesForThisFile();

interface Served {
  name: string;
  pid: number;
  port: number;
  state: string;
  gateway_url: string;
  gateway_started: boolean;
}

test("rig serve with no gateway: a note says it started one and how it stops; the ready line's URL and model answer", async () => {
  const home = await newHome(await tinyServers());
  const served = await rig(["serve", "tiny"], { home: home.root });
  assert.equal(served.code, 0, served.stderr);
  const note = new RegExp(
    `note: started the gateway on ${home.url} \\(pid (\\d+)\\); \`rig gateway stop\` stops it and every server`,
  ).exec(served.stderr);
  assert.ok(note, served.stderr);
  assert.ok(isAlive(Number(note[1])), "the pid named is the gateway's");
  const ready = new RegExp(
    `tiny .* ready: ${home.url}/v1, model "tiny" \\(llama\\.cpp pid \\d+ on port (\\d+)\\)`,
  ).exec(served.stderr);
  assert.ok(ready, served.stderr);
  assert.notEqual(Number(ready[1]), home.port, "the server's own port is not the gateway's");

  const reply = await fetch(`${home.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
  });
  assert.equal(reply.status, 200, "the URL and model of the ready line answer");

  const again = await rig(["serve", "tiny", "--json"], { home: home.root });
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /started the gateway/, "a running gateway is not news");
  const json = JSON.parse(again.stdout) as Served;
  assert.equal(json.name, "tiny");
  assert.equal(json.state, "ready");
  assert.equal(json.port, Number(ready[1]), "the server's port stays in --json");
  assert.equal(json.gateway_url, home.url);
  assert.equal(json.gateway_started, false);
});
