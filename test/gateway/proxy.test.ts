import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import OpenAI from "openai";
import { isAlive, sleep } from "../../src/system/process.ts";
import { rig, rigJson } from "../support/cli.ts";
import { makeHome, type TestHome } from "../support/home.ts";
import { type PsRow, readRecord, scriptedServer, tinyServers } from "../support/stack.ts";

const homes: TestHome[] = [];
after(async () => {
  for (const home of homes) await home.cleanup();
});

async function stack(yaml: string, gateway = ""): Promise<TestHome> {
  const home = await makeHome(yaml, { gateway });
  homes.push(home);
  const started = await rig(["gateway", "start"], { home: home.root });
  assert.equal(started.code, 0, started.stderr);
  return home;
}

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The gateway writes its log in batches: wait until a line shows up. */
async function logWith(home: TestHome, pattern: RegExp): Promise<string> {
  let log = "";
  for (let i = 0; i < 50 && !pattern.test(log); i++) {
    await sleep(100);
    log = readFileSync(join(home.root, "logs", "gateway.log"), "utf8");
  }
  return log;
}

const launches = async (home: TestHome, server?: string) =>
  rigJson<Array<{ id: number }>>(server ? ["history", server] : ["history"], { home: home.root });

describe("the gateway in front of the real llama-server", () => {
  test("the official openai client, streaming and not, through rig; a stopped server starts on the first request", async () => {
    const home = await stack(await tinyServers({ tiny: "aliases: [small]" }));
    const client = new OpenAI({ baseURL: `${home.url}/v1`, apiKey: "unused" });
    const completion = await client.chat.completions.create({
      model: "small",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 12,
    });
    assert.ok(completion.choices[0]!.message.content!.length > 0);
    assert.equal(completion.usage?.completion_tokens, 12);

    const stream = await client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 16,
      stream: true,
    });
    let text = "";
    let chunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      chunks++;
    }
    assert.ok(chunks >= 16 && text.length > 0);

    const models = await client.models.list();
    const tiny = models.data.find((model) => model.id === "tiny") as unknown as {
      aliases: string[];
      state: string;
      context: number;
    };
    assert.deepEqual(tiny.aliases, ["small"]);
    assert.equal(tiny.state, "ready");
    assert.equal(tiny.context, 2048);

    const log = await logWith(home, /out=16 tok\/s=/);
    assert.match(
      log,
      /POST \/v1\/chat\/completions server=tiny status=200 ttfb=[\d.]+ms dur=[\d.]+ms in=\d+ out=12/,
    );
    assert.match(log, /POST \/v1\/chat\/completions server=tiny status=200 stream .* out=16 tok\/s=/);
    const metrics = await (await fetch(`${home.url}/metrics`)).text();
    assert.match(metrics, /rig_requests_total\{server="tiny",route="chat",status="200"\} 2/);
    assert.match(metrics, /rig_tokens_total\{server="tiny",kind="completion"\} 28/);
    assert.match(metrics, /rig_server_ready\{server="tiny"\} 1/);
  });

  test("8 concurrent requests to a stopped server: one launch, 8 answers", async () => {
    const home = await stack(await tinyServers());
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        post(`${home.url}/v1/chat/completions`, {
          model: "tiny",
          messages: [{ role: "user", content: `hi ${index}` }],
          max_tokens: 4,
          stream: index % 2 === 0,
        }).then(async (response) => ({ status: response.status, text: await response.text() })),
      ),
    );
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assert.ok(answer.text.includes("choices"), answer.text.slice(0, 200));
    }
    assert.equal((await launches(home)).length, 1);
  });

  test("a group swap under load drains in-flight requests, serves queued ones together, drops none", async () => {
    const home = await stack(await tinyServers({ a: "group: one", b: "group: one" }));
    const models = ["a", "a", "b", "b", "a", "b", "a", "b"];
    const answers = await Promise.all(
      models.map((model, index) =>
        sleep(index * 30).then(() =>
          post(`${home.url}/v1/chat/completions`, {
            model,
            messages: [{ role: "user", content: "hi" }],
            max_tokens: 24,
          }).then((response) => response.status),
        ),
      ),
    );
    assert.deepEqual(
      answers,
      models.map(() => 200),
    );
    const count = (await launches(home)).length;
    assert.ok(count >= 2 && count <= 5, `launches: ${count}`);
    const states = (await rigJson<PsRow[]>(["ps", "--all"], { home: home.root })).filter(
      (row) => row.state === "ready",
    );
    assert.equal(states.length, 1, "never both at once");
  });

  test("ttl counts from the end of the last response", async () => {
    const home = await stack(await tinyServers({ tiny: "ttl: 3s" }));
    for (let i = 0; i < 3; i++) {
      const response = await post(`${home.url}/v1/chat/completions`, {
        model: "tiny",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 4,
      });
      assert.equal(response.status, 200);
      await sleep(1500);
    }
    assert.equal(
      (await rigJson<PsRow[]>(["ps", "--all"], { home: home.root }))[0]!.state,
      "ready",
      "requests kept it alive past its ttl",
    );
    await sleep(3000);
    assert.equal((await rigJson<PsRow[]>(["ps", "--all"], { home: home.root }))[0]!.state, "stopped");
    assert.equal((await launches(home)).length, 1);
  });

  test("a server that cannot start answers 503 with the reason and the log tail, in the caller's dialect", async () => {
    const home = await stack(await tinyServers());
    const broken = home.write("models/broken.gguf", "GGUF garbage");
    writeFileSync(
      join(home.root, "rig.yaml"),
      `${readFileSync(join(home.root, "rig.yaml"), "utf8")}  broken: { runtime: llama.cpp, model: ${JSON.stringify(broken)} }\n`,
    );
    await sleep(600);
    const response = await post(`${home.url}/v1/messages`, {
      model: "broken",
      max_tokens: 5,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("x-rig-error"), "gateway");
    const body = (await response.json()) as {
      type: string;
      error: { type: string; message: string; rig: boolean };
    };
    assert.equal(body.type, "error");
    assert.equal(body.error.rig, true);
    assert.match(body.error.message, /server broken failed to start: broken exited while starting/);
    assert.match(body.error.message, /last log lines:/);
  });

  test("a config edit applies at once and leaves an unchanged server running; a bad edit is refused with its position", async () => {
    const home = await stack(await tinyServers());
    assert.equal((await rig(["serve", "tiny"], { home: home.root })).code, 0);
    const [before] = await rigJson<PsRow[]>(["ps"], { home: home.root });
    const file = join(home.root, "rig.yaml");
    const original = readFileSync(file, "utf8");
    writeFileSync(file, `${original}${scriptedServer("echo")}`);
    let listed: string[] = [];
    for (let i = 0; i < 50 && !listed.includes("echo"); i++) {
      await sleep(100);
      listed = (
        (await (await fetch(`${home.url}/v1/models`)).json()) as { data: Array<{ id: string }> }
      ).data.map((model) => model.id);
    }
    assert.ok(listed.includes("echo"), "the new server is routable without a restart");
    const [after] = (await rigJson<PsRow[]>(["ps"], { home: home.root })).filter(
      (row) => row.name === "tiny",
    );
    assert.equal(after!.pid, before!.pid, "tiny kept running");

    writeFileSync(file, `${original}  oops:\n    runtme: llama.cpp\n`);
    const log = await logWith(home, /config not reloaded/);
    assert.match(
      log,
      /config not reloaded: \S*rig\.yaml:\d+:5: error: servers\.oops\.runtme: unknown key `runtme`; did you mean `runtime`\?/,
    );
    const stillServed = (
      (await (await fetch(`${home.url}/v1/models`)).json()) as { data: Array<{ id: string }> }
    ).data.map((model) => model.id);
    assert.deepEqual(stillServed.sort(), ["echo", "tiny"]);

    const stopped = await rig(["gateway", "stop"], { home: home.root });
    assert.equal(stopped.code, 0, "a broken rig.yaml does not keep the gateway from stopping");
    assert.match(stopped.stderr, /rig\.yaml has problems/);
    assert.equal(isAlive(after!.pid!), false, "and its servers stop with it");
  });
});

describe("the gateway with a recording upstream", () => {
  test("request rules: server then agent; set wins, defaults fill, drop removes, chat_template_kwargs merge; model rewritten", async () => {
    const home = await stack(
      [
        "servers:",
        scriptedServer(
          "echo",
          { RECORD: "record.jsonl" },
          [
            "aliases: [e]",
            "request:",
            "  set: { chat_template_kwargs: { enable_thinking: false }, top_k: 20 }",
            "  defaults: { temperature: 0.7, max_tokens: 100 }",
            "  drop: [reasoning_effort, metadata.user]",
          ].join("\n"),
        ),
        "agents:",
        "  coder:",
        "    harness: qwen-code",
        "    server: echo",
        "    request: { set: { temperature: 0.1 }, drop: [top_k] }",
        "",
      ].join("\n"),
    );
    const client = {
      model: "e",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 7,
      reasoning_effort: "high",
      metadata: { user: "me", keep: 1 },
      chat_template_kwargs: { custom: true, enable_thinking: true },
    };
    assert.equal((await post(`${home.url}/v1/chat/completions`, client)).status, 200);
    assert.equal(
      (await post(`${home.url}/agents/coder/v1/chat/completions`, { ...client, model: "claude-sonnet-4-5" }))
        .status,
      200,
    );
    const seen = readRecord(join(home.root, "record.jsonl"))
      .filter((entry) => entry.path === "/v1/chat/completions")
      .map((entry) => entry.body as Record<string, unknown>);
    assert.deepEqual(seen[0], {
      model: "echo",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 7,
      metadata: { keep: 1 },
      chat_template_kwargs: { custom: true, enable_thinking: false },
      temperature: 0.7,
      top_k: 20,
    });
    const { top_k: _dropped, ...withoutTopK } = seen[0]!;
    assert.deepEqual(
      seen[1],
      { ...withoutTopK, temperature: 0.1 },
      "the agent's rules run after the server's",
    );
  });

  test("an upstream that dies mid-stream yields an SSE error event and a clean end; the server is marked failed", async () => {
    const home = await stack(`servers:\n${scriptedServer("flaky", { SCRIPT: "script.json" })}`);
    writeFileSync(
      join(home.root, "script.json"),
      JSON.stringify([
        { deltas: [{ content: "one" }, { content: " two" }, { content: " three" }], die_after: 2 },
      ]),
    );
    const response = await post(`${home.url}/v1/chat/completions`, {
      model: "flaky",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /"content":"one"/);
    assert.match(
      text,
      /data: \{"error":\{"message":"server flaky stopped mid-response: [^"]+","type":"api_error"/,
    );
    assert.ok(text.trimEnd().endsWith("data: [DONE]"));
    await sleep(300);
    const [row] = await rigJson<PsRow[]>(["ps", "--all"], { home: home.root });
    assert.equal(row!.state, "failed");
  });

  test("a client that disconnects aborts its upstream request", async () => {
    const home = await stack(
      `servers:\n${scriptedServer("slow", { SCRIPT: "script.json", RECORD: "record.jsonl" })}`,
    );
    writeFileSync(
      join(home.root, "script.json"),
      JSON.stringify([{ deltas: Array.from({ length: 50 }, () => ({ content: "x" })), chunk_delay_ms: 100 }]),
    );
    await rig(["serve", "slow"], { home: home.root });
    await new Promise<void>((resolve) => {
      const req = request(
        `${home.url}/v1/chat/completions`,
        { method: "POST", headers: { "content-type": "application/json" } },
        (res) => {
          res.once("data", () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.end(JSON.stringify({ model: "slow", stream: true, messages: [] }));
    });
    const log = await logWith(home, /server=slow status=499/);
    assert.match(log, /server=slow status=499 stream .*client disconnected/);
    const [row] = await rigJson<PsRow[]>(["ps"], { home: home.root });
    assert.equal(row!.state, "ready", "the upstream keeps serving");
  });

  test("a client that hangs up once it has the stream's last event completed its exchange", async () => {
    const home = await stack(`servers:\n${scriptedServer("lingering", { SCRIPT: "script.json" })}`);
    writeFileSync(
      join(home.root, "script.json"),
      JSON.stringify([{ deltas: [{ content: "done" }], linger_ms: 2000 }]),
    );
    await rig(["serve", "lingering"], { home: home.root });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error("no `data: [DONE]` within 15 s"));
      }, 15_000);
      const req = request(
        `${home.url}/v1/chat/completions`,
        { method: "POST", headers: { "content-type": "application/json" } },
        (res) => {
          let seen = "";
          res.on("data", (chunk: Buffer) => {
            seen += chunk.toString();
            if (!seen.includes("data: [DONE]")) return;
            clearTimeout(timer);
            req.destroy();
            resolve();
          });
          res.on("end", () => reject(new Error(`the stream ended without \`data: [DONE]\`: ${seen}`)));
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ model: "lingering", stream: true, messages: [] }));
    });
    const log = await logWith(home, /server=lingering status=/);
    assert.match(log, /server=lingering status=200 stream/);
    assert.doesNotMatch(log, /client disconnected/);
  });

  test("bad requests: invalid JSON 400, unknown model 404 listing names, too large 413, unknown agent 404; each in the caller's dialect", async () => {
    const home = await stack(`servers:\n${scriptedServer("echo", {}, "aliases: [e]")}`, ", body_limit: 2KB");
    const invalid = await post(`${home.url}/v1/chat/completions`, "{nope");
    assert.equal(invalid.status, 400);
    const invalidBody = (await invalid.json()) as { error: { type: string; message: string; rig: boolean } };
    assert.equal(invalidBody.error.type, "invalid_request_error");
    assert.match(invalidBody.error.message, /invalid JSON body/);
    assert.equal(invalidBody.error.rig, true);

    const anthropic = await post(`${home.url}/v1/messages`, "{nope");
    assert.equal(anthropic.status, 400);
    assert.equal(((await anthropic.json()) as { type: string }).type, "error");

    const unknown = await post(`${home.url}/v1/chat/completions`, { model: "eho", messages: [] });
    assert.equal(unknown.status, 404);
    assert.match(
      ((await unknown.json()) as { error: { message: string } }).error.message,
      /unknown model `eho`; did you mean `echo`\?; this gateway serves: echo, e/,
    );

    const large = await post(`${home.url}/v1/chat/completions`, {
      model: "echo",
      messages: [{ role: "user", content: "x".repeat(5000) }],
    });
    assert.equal(large.status, 413);
    assert.match(
      ((await large.json()) as { error: { message: string } }).error.message,
      /gateway\.body_limit/,
    );

    const agent = await post(`${home.url}/agents/nobody/v1/messages`, { model: "x" });
    assert.equal(agent.status, 404);
    assert.equal(((await agent.json()) as { error: { type: string } }).error.type, "not_found_error");
  });

  test("a streaming client waiting for a slow start gets SSE comments, then the stream", async () => {
    const home = await stack(`servers:\n${scriptedServer("slow", { STARTUP_DELAY_MS: "2500" })}`);
    const response = await post(`${home.url}/v1/chat/completions`, {
      model: "slow",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const text = await response.text();
    assert.match(text, /^: rig is starting slow\n\n/);
    assert.match(text, /"content":"hello from the scripted upstream"/);
    assert.ok(text.trimEnd().endsWith("data: [DONE]"));
  });

  test("with gateway.api_key every /v1, /agents and /rig request needs it", async () => {
    const home = await stack(`servers:\n${scriptedServer("echo")}`, ", api_key: s3cret");
    const body = { model: "echo", messages: [{ role: "user", content: "hi" }] };
    assert.equal((await post(`${home.url}/v1/chat/completions`, body)).status, 401);
    assert.equal(
      (await post(`${home.url}/v1/chat/completions`, body, { authorization: "Bearer wrong" })).status,
      401,
    );
    assert.equal(
      (await post(`${home.url}/v1/chat/completions`, body, { authorization: "Bearer s3cret" })).status,
      200,
    );
    assert.equal(
      (await post(`${home.url}/v1/messages`, { model: "echo" }, { "x-api-key": "nope" })).status,
      401,
    );
    assert.equal((await fetch(`${home.url}/rig/v1/status`)).status, 401);
    assert.equal((await fetch(`${home.url}/health`)).status, 200);
    const ps = await rig(["ps", "--json"], { home: home.root });
    assert.equal(ps.code, 0, "the CLI sends the key it reads from rig.yaml");
  });
});
