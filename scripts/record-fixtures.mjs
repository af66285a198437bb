// Records the real traffic the dialect tests replay (test/dialects/replay.test.ts), into test/fixtures/:
//
//   chat-streams/<name>.sse and <name>.request.json
//       Chat Completions answers byte for byte, with the request that produced them:
//       llama-server-plain      the real llama-server serving the tiny model (src/demo/tiny-model.ts),
//                               streamed, cut by max_tokens (the plain model never stops by itself)
//       llama-server-usage      the same server with the model that ends its turns, sampled with a
//                               fixed seed, asking for usage (`stream_options.include_usage`)
//       llama-server-whole      a non-streamed answer from the plain model
//       scripted-tool-calls     test/support/scripted-upstream.mjs streaming text and two tool calls
//                               whose arguments arrive in fragments (the tiny model never calls a tool)
//   agent-requests/<agent>.json
//       the requests the pinned agent CLIs (Claude Code, Codex, Gemini CLI) send, pointed by rig's
//       own harness adapters at a capturing server that answers with rig's translators. Claude Code
//       runs with its billing header on (rig's harness turns it off; clients that are not launched by
//       rig send it), so the fixture shows what nativeRequest removes. Every string over 400
//       characters (system prompts, tool descriptions) is cut to its start, marked with the length cut.
//
// Run it when the runtime, the tiny model or an agent's pinned version changes, on one machine at a
// time (it starts llama-server and the agents on two cores):
//   npm run build && node dist/main.mjs install llama.cpp && node scripts/install-agents.mjs claude-code codex gemini-cli
//   flock /tmp/rig-heavy.lock node scripts/record-fixtures.mjs [streams] [agents]
// then review the diff of test/fixtures/ and run test/dialects/replay.test.ts.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// rig's own modules are TypeScript: run under tsx.
if (!process.execArgv.some((argument) => argument.includes("tsx"))) {
  const result = spawnSync(process.execPath, ["--import", "tsx", ...process.argv.slice(1)], {
    stdio: "inherit",
  });
  process.exit(result.status ?? 1);
}

const root = fileURLToPath(new URL("..", import.meta.url));
const fixtures = join(root, "test", "fixtures");
const { llamaServer, tinyModel } = await import("../test/support/llama.ts");
const { TRANSLATORS } = await import("../src/dialects/index.ts");
const { HARNESSES } = await import("../src/harnesses/index.ts");
const { AGENTS, agentBin } = await import("./install-agents.mjs");

const TRIM_OVER = 400;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port nothing listens on right now. */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a server process and waits until `url` answers 200; the caller stops it with `kill()`. */
async function startProcess(command, args, url, env = {}) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr.on("data", (chunk) => {
    log = (log + chunk).slice(-4000);
  });
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error(`${command} exited ${child.exitCode}:\n${log}`);
    const ready = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { kill: () => child.kill("SIGTERM") };
    await sleep(100);
  }
  child.kill("SIGKILL");
  throw new Error(`${command} did not become ready:\n${log}`);
}

function writeFixture(folder, name, content) {
  mkdirSync(join(fixtures, folder), { recursive: true });
  writeFileSync(join(fixtures, folder, name), content);
  console.error(`wrote test/fixtures/${folder}/${name} (${content.length} bytes)`);
}

/** Sends a Chat Completions request and stores the answer's bytes as they came, with the request. */
async function recordChat(base, name, request) {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (!response.ok) throw new Error(`${name}: ${response.status} ${bytes}`);
  writeFixture("chat-streams", `${name}.request.json`, `${JSON.stringify(request, null, 2)}\n`);
  writeFixture("chat-streams", `${name}.${request.stream ? "sse" : "json"}`, bytes);
}

async function withLlamaServer(model, run) {
  const port = await freePort();
  const server = await startProcess(
    llamaServer(),
    ["-m", model, "--host", "127.0.0.1", "--port", String(port), "--ctx-size", "2048", "--threads", "2"],
    `http://127.0.0.1:${port}/health`,
  );
  try {
    await run(`http://127.0.0.1:${port}`);
  } finally {
    server.kill();
  }
}

async function recordStreams() {
  const hello = [{ role: "user", content: "Say hello to the user." }];
  await withLlamaServer(await tinyModel(), async (base) => {
    await recordChat(base, "llama-server-plain", {
      model: "tiny",
      messages: hello,
      max_tokens: 16,
      stream: true,
    });
    await recordChat(base, "llama-server-whole", { model: "tiny", messages: hello, max_tokens: 16 });
  });
  await withLlamaServer(await tinyModel({ endsTurns: true }), (base) =>
    recordChat(base, "llama-server-usage", {
      model: "tiny",
      messages: hello,
      max_tokens: 96,
      seed: 7,
      stream: true,
      stream_options: { include_usage: true },
    }),
  );

  const work = mkdtempSync(join(tmpdir(), "rig-record-"));
  try {
    const fragments = (index, id, name, parts) =>
      parts.map((part, at) => ({
        tool_calls: [
          {
            index,
            ...(at === 0
              ? { id, type: "function", function: { name, arguments: part } }
              : { function: { arguments: part } }),
          },
        ],
      }));
    writeFileSync(
      join(work, "script.json"),
      JSON.stringify([
        {
          deltas: [
            { content: "Let me look " },
            { content: "at both files." },
            ...fragments(0, "call_read_1", "read_file", [
              '{"pa',
              'th": "notes/caf',
              'é ☕.md"',
              ', "lines": [1, ',
              "20]}",
            ]),
            ...fragments(1, "call_bash_2", "run_shell", [
              '{"command": "grep -n \\"TODO\\" src/*.ts',
              ' | head -n 5"}',
            ]),
          ],
          finish_reason: "tool_calls",
          usage: { prompt_tokens: 182, completion_tokens: 41, total_tokens: 223 },
        },
      ]),
    );
    const port = await freePort();
    const upstream = await startProcess(
      process.execPath,
      [join(root, "test", "support", "scripted-upstream.mjs"), "--port", String(port)],
      `http://127.0.0.1:${port}/health`,
      { SCRIPT: join(work, "script.json") },
    );
    const tool = (name, properties) => ({
      type: "function",
      function: { name, parameters: { type: "object", properties } },
    });
    try {
      await recordChat(`http://127.0.0.1:${port}`, "scripted-tool-calls", {
        model: "scripted",
        messages: [{ role: "user", content: "Find the TODOs in my notes." }],
        tools: [
          tool("read_file", { path: { type: "string" }, lines: { type: "array" } }),
          tool("run_shell", { command: { type: "string" } }),
        ],
        stream: true,
        stream_options: { include_usage: true },
      });
    } finally {
      upstream.kill();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Long strings cut to their start: the fixture stays small and keeps every field's real shape. */
function trimmed(value) {
  if (typeof value === "string" && value.length > TRIM_OVER)
    return `${value.slice(0, TRIM_OVER)}…[rig: ${value.length - TRIM_OVER} characters cut]`;
  if (Array.isArray(value)) return value.map(trimmed);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, trimmed(inner)]));
  return value;
}

/** A server that records every request and answers in the request's dialect with a short "hi". */
async function capturingServer() {
  const requests = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString();
    const body = text ? JSON.parse(text) : {};
    const path = req.url ?? "";
    requests.push({ method: req.method, path, body });
    const route = path.split("?")[0];
    // Gemini names the model and whether it streams in the path, as the gateway's routes read it.
    const gemini = /\/v1beta\/models\/(.+):(\w+)$/.exec(route);
    const translator = gemini
      ? TRANSLATORS.gemini
      : route.endsWith("/messages") || route.endsWith("/count_tokens")
        ? TRANSLATORS.messages
        : route.endsWith("/responses")
          ? TRANSLATORS.responses
          : undefined;
    if (!translator) {
      res.writeHead(404, { "content-type": "application/json" });
      return res.end(JSON.stringify({ error: { message: `no route ${route}` } }));
    }
    const request = gemini
      ? { ...body, model: gemini[1], ...(gemini[2] === "streamGenerateContent" ? { stream: true } : {}) }
      : body;
    if (route.endsWith("/count_tokens") || gemini?.[2] === "countTokens") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(translator.countTokens(request)));
    }
    const { context } = translator.toChat(request);
    const events = translator.localAnswer(request) ?? [
      { type: "text", text: "hi" },
      { type: "finish", reason: "stop" },
      { type: "usage", input: context.inputTokens ?? 0, output: 1 },
    ];
    if (request.stream) {
      const renderer = translator.stream(context);
      res.writeHead(200, { "content-type": "text/event-stream" });
      return res.end(renderer.push(events) + renderer.end());
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(translator.respond(events, context)));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, requests, url: `http://127.0.0.1:${server.address().port}` };
}

/** Runs one agent headless against the capturing server, in a home and folder of its own. */
async function captureAgent(name, headlessArgs, withoutEnv = []) {
  const capture = await capturingServer();
  const work = mkdtempSync(join(tmpdir(), `rig-record-${name}-`));
  try {
    const launch = HARNESSES[name].launch({
      agent: `${name}-tiny`,
      baseUrl: capture.url,
      model: "tiny",
      context: 65536,
      stateDir: join(work, "state"),
      command: [agentBin(name)],
    });
    const env = { ...process.env, ...launch.env, HOME: work, CODEX_HOME: join(work, ".codex"), CI: "1" };
    for (const key of withoutEnv) delete env[key];
    mkdirSync(env.CODEX_HOME, { recursive: true });
    for (const file of launch.files) {
      mkdirSync(dirname(file.path), { recursive: true });
      writeFileSync(file.path, file.content);
    }
    const child = spawn(launch.command, [...launch.args, ...headlessArgs], {
      cwd: work,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    const code = await new Promise((resolve) => child.on("close", resolve));
    clearTimeout(timer);
    if (code !== 0) throw new Error(`${name} exited ${code}:\n${output.slice(-3000)}`);
    return capture.requests;
  } finally {
    capture.server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

function writeAgentRequest(file, agent, request) {
  writeFixture(
    "agent-requests",
    file,
    `${JSON.stringify({ agent: `${agent}@${AGENTS[agent].spec.split("@").pop()}`, ...trimmed(request) }, null, 2)}\n`,
  );
}

async function recordAgents() {
  const claude = await captureAgent(
    "claude-code",
    ["-p", "say hi", "--output-format", "json"],
    ["CLAUDE_CODE_ATTRIBUTION_HEADER"],
  );
  const turn = claude.find(
    (request) =>
      request.path.includes("/messages") &&
      JSON.stringify(request.body.messages ?? []).includes("say hi") &&
      request.body.tools?.length,
  );
  if (!turn)
    throw new Error(
      `Claude Code sent no turn with tools: ${claude.map((request) => request.path).join(", ")}`,
    );
  writeAgentRequest("claude-code.json", "claude-code", turn);

  const codex = await captureAgent("codex", ["exec", "--skip-git-repo-check", "say hi"]);
  const codexTurn = codex.find(
    (request) =>
      request.path.endsWith("/responses") && JSON.stringify(request.body.input ?? []).includes("say hi"),
  );
  if (!codexTurn) throw new Error(`Codex sent no turn: ${codex.map((request) => request.path).join(", ")}`);
  writeAgentRequest("codex.json", "codex", codexTurn);

  const gemini = await captureAgent("gemini-cli", ["-p", "say hi", "-o", "json", "--skip-trust"]);
  const geminiTurn = gemini.find(
    (request) =>
      request.path.includes(":streamGenerateContent") &&
      JSON.stringify(request.body.contents ?? []).includes("say hi") &&
      request.body.tools?.length,
  );
  if (!geminiTurn)
    throw new Error(`Gemini CLI sent no turn: ${gemini.map((request) => request.path).join(", ")}`);
  writeAgentRequest("gemini-cli.json", "gemini-cli", geminiTurn);
}

const what = process.argv.slice(2);
if (what.length === 0 || what.includes("streams")) await recordStreams();
if (what.length === 0 || what.includes("agents")) await recordAgents();
// The JSON fixtures are laid out as `npm run lint` wants them (the .sse files stay byte for byte).
spawnSync(join(root, "node_modules", ".bin", "biome"), ["format", "--write", fixtures], { stdio: "inherit" });
