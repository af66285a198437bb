// A bounded soak: mixed traffic from several clients for about a minute against two real llama-server
// profiles that swap in one group and a translated scripted server, while servers are killed with
// SIGKILL. Reports requests sent, answered, errors the client was told about, lost (hung or cut
// without a word: must be 0), orphans after the stop (0) and daemon crashes (0).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import { isAlive, sleep } from "../../src/system/process.ts";
import { rig, rigJson } from "../support/cli.ts";
import { makeHome } from "../support/home.ts";
import { processesOf } from "../support/processes.ts";
import { type PsRow, scriptedServer, tinyServers } from "../support/stack.ts";

const SOAK_MS = Number(process.env.SOAK_MS ?? 60_000);
const CLIENTS = 4;
const REQUEST_TIMEOUT_MS = 60_000;

type Outcome = "answered" | "told" | "lost";

/** What a client saw: a whole answer, an error it was told about (status + body, or an error event), or nothing usable. */
async function exchange(url: string, path: string, body: unknown): Promise<Outcome> {
  const abort = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(url + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: abort,
    });
  } catch {
    return "lost";
  }
  let text: string;
  try {
    text = await response.text();
  } catch {
    return "lost";
  }
  if (response.status !== 200) return /"message"/.test(text) ? "told" : "lost";
  if (!(body as { stream?: boolean }).stream) return "answered";
  if (/^event: error|"error":\{/m.test(text)) return "told";
  return /data: \[DONE\]|event: message_stop/.test(text) ? "answered" : "lost";
}

const home = await makeHome(
  `${await tinyServers({ left: "group: pair", right: "group: pair" })}${scriptedServer("chatonly")}`,
);
after(() => home.cleanup());

test(`soak: ${CLIENTS} clients for ${SOAK_MS / 1000}s, group swaps and SIGKILLs; nothing lost, no orphans, no daemon crash`, async (t) => {
  const started = await rig(["gateway", "start"], { home: home.root });
  assert.equal(started.code, 0, started.stderr);
  const daemon = JSON.parse(readFileSync(`${home.root}/state/gateway.json`, "utf8")).pid as number;
  const counts = { sent: 0, answered: 0, told: 0, lost: 0, kills: 0 };
  const deadline = Date.now() + SOAK_MS;
  const requests = [
    [
      "/v1/chat/completions",
      { model: "left", stream: true, max_tokens: 16, messages: [{ role: "user", content: "a" }] },
    ],
    ["/v1/chat/completions", { model: "right", max_tokens: 16, messages: [{ role: "user", content: "b" }] }],
    [
      "/v1/messages",
      { model: "left", stream: true, max_tokens: 16, messages: [{ role: "user", content: "c" }] },
    ],
    [
      "/v1/messages",
      { model: "chatonly", stream: true, max_tokens: 16, messages: [{ role: "user", content: "d" }] },
    ],
    ["/v1/responses", { model: "chatonly", input: "e" }],
  ] as const;
  const client = async (index: number) => {
    for (let turn = index; Date.now() < deadline; turn++) {
      const [path, body] = requests[turn % requests.length]!;
      counts.sent++;
      counts[await exchange(home.url, path, body)]++;
    }
  };
  // Each llama-server profile is killed at most twice a minute: below the crash-loop guard.
  const killer = async () => {
    for (let round = 0; Date.now() < deadline - 5000; round++) {
      await sleep(15_000);
      const rows = await rigJson<PsRow[]>(["ps"], { home: home.root }).catch(() => []);
      const victim = rows.find((row) => row.name === (round % 2 ? "left" : "right") && row.pid);
      if (victim?.pid && isAlive(victim.pid)) {
        process.kill(victim.pid, "SIGKILL");
        counts.kills++;
      }
    }
  };
  await Promise.all([...Array.from({ length: CLIENTS }, (_, index) => client(index)), killer()]);
  const crashed = !isAlive(daemon);
  const stopped = await rig(["gateway", "stop"], { home: home.root });
  await sleep(500);
  const orphans = processesOf(home.root);
  const figures = { ...counts, orphans: orphans.length, daemon_crashes: crashed ? 1 : 0 };
  t.diagnostic(`soak figures: ${JSON.stringify(figures)}`);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(crashed, false, "the daemon never crashed");
  assert.equal(counts.lost, 0, "every request was answered or told why not");
  assert.deepEqual(orphans, [], "nothing of this home runs after the stop");
  assert.ok(counts.answered > counts.sent / 2, `most requests were answered: ${JSON.stringify(figures)}`);
});
