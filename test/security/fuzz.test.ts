// A bounded fuzz run per dialect against the daemon: malformed JSON, wrong types in every field,
// huge strings, deep nesting, hostile names. Every answer must be a 4xx in the caller's dialect, the
// daemon stays up and its memory stays bounded. Chat requests that name a real model are passed to
// the runtime as they are (rig adds no validation the runtime does), so Chat is fuzzed on what rig
// itself reads: the body and the model.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import { seededRandom } from "../../src/demo/tiny-model.ts";
import { isAlive } from "../../src/system/process.ts";
import { rig } from "../support/cli.ts";
import { makeHome } from "../support/home.ts";
import { scriptedServer } from "../support/stack.ts";

const PER_DIALECT = Number(process.env.FUZZ_INPUTS ?? 1000);

type Json = Record<string, unknown>;
const VALID: Record<string, Json> = {
  "/v1/messages": { model: "chatonly", max_tokens: 16, messages: [{ role: "user", content: "hi" }] },
  "/v1/responses": { model: "chatonly", input: [{ role: "user", content: "hi" }] },
  "/v1/chat/completions": { model: "chatonly", messages: [{ role: "user", content: "hi" }] },
};
const WRONG: unknown[] = [null, 7, -1, 1.5, true, "", "x", [], [1, "a"], {}, { a: { b: 1 } }];
const typeOf = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "array" : typeof value);
/**
 * Values of another JSON type than `original`. A string is a valid `content` or `input`, and an empty
 * list is one the Responses API is not documented to refuse, so neither is used there.
 */
function wrongFor(original: unknown, key: string | number): unknown[] {
  return WRONG.filter(
    (value) =>
      typeOf(value) !== typeOf(original) &&
      !(
        (typeof value === "string" || (Array.isArray(value) && value.length === 0)) &&
        (key === "content" || key === "input")
      ),
  );
}
const valueAt = (body: Json, path: Array<string | number>) =>
  path.reduce<unknown>((value, key) => (value as Record<string | number, unknown>)[key], body);
const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

/** Every place in a body a value can stand, as paths. */
function paths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof value !== "object" || value === null) return [prefix];
  const entries = Array.isArray(value)
    ? value.map((item, index) => [index, item] as const)
    : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, item]) => paths(item, [...prefix, key]))].filter(
    (path) => path.length,
  );
}

function withValue(body: Json, path: Array<string | number>, value: unknown): Json {
  const copy = structuredClone(body);
  let target = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  target[path.at(-1)!] = value;
  return copy;
}

/** Invalid inputs for one route: the raw bytes to send. */
function inputs(route: string, count: number, random: () => number): string[] {
  const valid = VALID[route]!;
  const text = JSON.stringify(valid);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const translated = route !== "/v1/chat/completions";
  const out: string[] = [];
  while (out.length < count) {
    // Dropping a field is a fuzz case only for Messages: a Responses request without `input` is
    // Codex's warm-up, which rig answers.
    const kinds = route === "/v1/messages" ? 6 : translated ? 5 : 4;
    const kind = Math.floor(random() * kinds);
    if (kind === 0) out.push(text.slice(0, 1 + Math.floor(random() * (text.length - 2))));
    else if (kind === 1)
      out.push(pick([deep(100_000), `{"model":${deep(5000)}}`, "[]", "null", "7", '"s"', "\u0000{", "{,}"]));
    else if (kind === 2)
      out.push(
        JSON.stringify({
          ...valid,
          model: pick(["m".repeat(1 << 20), "__proto__", "constructor", "", 5, null]),
        }),
      );
    else if (kind === 3) out.push(JSON.stringify({ ...valid, model: `nope-${Math.floor(random() * 1e6)}` }));
    else if (kind === 4) {
      const path = pick(paths(valid).filter((candidate) => candidate[0] !== "model"));
      out.push(JSON.stringify(withValue(valid, path, pick(wrongFor(valueAt(valid, path), path.at(-1)!)))));
    } else {
      const { [pick(Object.keys(valid).filter((key) => key !== "model"))]: _dropped, ...rest } = valid;
      out.push(JSON.stringify(rest));
    }
  }
  return out;
}

function rss(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
}

const home = await makeHome(`servers:\n${scriptedServer("chatonly")}`);
after(() => home.cleanup());

test(`fuzz: ${PER_DIALECT} invalid inputs per dialect, every answer a 4xx in the caller's dialect`, async (t) => {
  const started = await rig(["gateway", "start"], { home: home.root });
  assert.equal(started.code, 0, started.stderr);
  const daemon = JSON.parse(readFileSync(`${home.root}/state/gateway.json`, "utf8")).pid as number;
  const random = seededRandom(20261130);
  const figures: Record<string, number> = {};
  const rssBefore = rss(daemon);
  let rssPeak = rssBefore;
  for (const route of Object.keys(VALID)) {
    const anthropic = route === "/v1/messages";
    let tried = 0;
    for (const body of inputs(route, PER_DIALECT, random)) {
      const response = await fetch(home.url + route, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const text = await response.text();
      const where = `${route} ${body.slice(0, 120)} → ${response.status} ${text.slice(0, 200)}`;
      assert.ok(response.status >= 400 && response.status < 500, where);
      const error = JSON.parse(text);
      if (anthropic) assert.equal(error.type, "error", where);
      assert.equal(typeof (anthropic ? error.error?.message : error.error?.message), "string", where);
      assert.ok(text.length < 4096, `an error never echoes a huge input: ${where}`);
      tried++;
      if (tried % 50 === 0) rssPeak = Math.max(rssPeak, rss(daemon));
    }
    figures[route] = tried;
  }
  const rssAfter = rss(daemon);
  t.diagnostic(
    `fuzz figures: ${JSON.stringify({ ...figures, rss_before_mb: Math.round(rssBefore / 2 ** 20), rss_peak_mb: Math.round(rssPeak / 2 ** 20), rss_after_mb: Math.round(rssAfter / 2 ** 20) })}`,
  );
  assert.ok(isAlive(daemon), "the daemon is still up");
  assert.ok(rssPeak < rssBefore + 150 * 2 ** 20, "the daemon's memory stays bounded");
  const log = readFileSync(`${home.root}/logs/gateway.log`, "utf8");
  assert.ok(
    log.split("\n").every((line) => line.length < 8192),
    "no log line carries a huge input",
  );
});
