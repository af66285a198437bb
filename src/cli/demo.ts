import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { defineCommand, runCommand } from "citty";
import { configPathOf, homePaths } from "../config/home.ts";
import { loadConfig } from "../config/loader.ts";
import { configJsonSchema } from "../config/schema.ts";
import { SCHEMA_FILE, STARTER_GITIGNORE } from "../config/starter.ts";
import { gatewayUrl } from "../config/urls.ts";
import { DEMO_HARNESSES, DEMO_MARKER, demoConfig } from "../demo/config.ts";
import { buildLlamaServer, ensureLlamaSource, findLlamaServer } from "../install/llama-cpp.ts";
import { llamaCpp } from "../runtimes/llama-cpp.ts";
import { freePort, isPortFree } from "../system/ports.ts";
import { which } from "../system/which.ts";
import { installAgentWithProgress, pointHarness } from "./agent-install.ts";
import { pc } from "./colors.ts";
import { jsonArg, RigError } from "./common.ts";
import { call, ensureDaemon } from "./daemon-client.ts";
import { progress } from "./progress.ts";
import { syncShims } from "./shims.ts";
import { startWithProgress } from "./start-progress.ts";

export const DEFAULT_DEMO_HOME = join(homedir(), "local-llm-demo");

/**
 * Installs every agent the demo configures into rig's cache (versions already there are kept). One
 * that fails is skipped with a warning: the demo runs without it, and `rig doctor` names the command
 * that retries. Returns harness → executable.
 */
async function installDemoAgents(): Promise<Record<string, string>> {
  const installed: Record<string, string> = {};
  for (const harness of DEMO_HARNESSES) {
    try {
      installed[harness] = (await installAgentWithProgress(harness)).path;
    } catch (error) {
      const reason = (error as Error).message.split("\n")[0];
      process.stderr.write(`${pc.yellow("warning:")} ${reason}; \`rig install ${harness}\` tries again\n`);
    }
  }
  return installed;
}

/** Makes sure the demo home exists with llama-server, the tiny model and its rig.yaml; returns the home. */
export async function prepareDemo(homeFlag: string | undefined): Promise<string> {
  const home = homePaths(homeFlag ?? DEFAULT_DEMO_HOME);
  for (const dir of [home.root, home.logs, home.state, join(home.root, "models")])
    mkdirSync(dir, { recursive: true });

  let llamaServer = findLlamaServer();
  if (!llamaServer) {
    const bar = progress(llamaCpp.kind);
    const result = await buildLlamaServer("cpu", (event) =>
      bar.update(
        event.phase === "compile" ? `compiling llama-server ${event.percent}%` : event.message,
        event.phase === "compile" ? String(Math.floor(event.percent / 10)) : event.phase,
      ),
    );
    bar.done(`llama-server built in ${result.seconds}s: ${result.path}`);
    llamaServer = result.path;
  }
  const model = join(home.root, "models", "tiny.gguf");
  if (!existsSync(model)) {
    const bar = progress("tiny model");
    const source = await ensureLlamaSource((event) => bar.update(event.message, event.phase));
    const { writeTinyModel } = await import("../demo/tiny-model.ts");
    writeTinyModel(source, `${model}.partial`, { endsTurns: true });
    const { renameSync } = await import("node:fs");
    renameSync(`${model}.partial`, model);
    bar.done(`wrote ${model}`);
  }
  const agents = await installDemoAgents();
  if (existsSync(home.config)) {
    if (!readFileSync(home.config, "utf8").includes(DEMO_MARKER)) {
      throw new RigError(
        `${home.config} exists and was not written by rig demo; rig leaves it alone (choose another --home)`,
      );
    }
    // A home from an earlier demo gets the agents it lacks, or newly verified versions.
    for (const [harness, path] of Object.entries(agents))
      await pointHarness(await loadConfig({ home: home.root, positions: true }), harness, path);
  } else {
    const port = (await isPortFree("127.0.0.1", 7878)) ? 7878 : await freePort();
    const agentCommands = Object.fromEntries(
      Object.entries(agents).map(([harness, path]) => [harness, configPathOf(path, home.root)]),
    );
    writeFileSync(
      home.config,
      demoConfig({
        gatewayPort: port,
        llamaServer: which("llama-server") ? undefined : configPathOf(llamaServer, home.root),
        agentCommands,
      }),
    );
    writeFileSync(join(home.root, SCHEMA_FILE), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    if (!existsSync(join(home.root, ".gitignore")))
      writeFileSync(join(home.root, ".gitignore"), STARTER_GITIGNORE);
  }
  syncShims(await loadConfig({ home: home.root }));
  return home.root;
}

export default defineCommand({
  meta: {
    name: "demo",
    description:
      "set up a demo home (tiny model on llama.cpp, every agent) and run it: explain, serve, stream a chat, stop",
  },
  args: {
    home: { type: "string", description: `demo home (default ${DEFAULT_DEMO_HOME})`, valueHint: "DIR" },
    run: {
      type: "boolean",
      description: "run the demo after setting it up (--no-run only sets up)",
      default: true,
    },
    prompt: { type: "string", description: "what to ask the tiny model", default: "Say hello to rig." },
    ...jsonArg,
  },
  async run({ args }) {
    const root = await prepareDemo(args.home);
    const config = await loadConfig({ home: root });
    process.stderr.write(`${pc.green("demo home")} ${root}\n`);
    if (!args.run) return;

    process.stdout.write(`\n${pc.bold("$ rig explain claude-tiny")}\n`);
    const explain = (await import("./explain.ts")).default;
    await runCommand(explain, { rawArgs: ["claude-tiny", "--home", root] });

    const daemon = await ensureDaemon(config);
    process.stdout.write(`\n${pc.bold("$ rig serve tiny")}\n`);
    (await startWithProgress(config, "tiny")).done();

    const url = `${gatewayUrl(config)}/v1/chat/completions`;
    process.stdout.write(`\n${pc.bold(`$ curl ${url}`)} ${pc.dim('(model "tiny", streamed)')}\n`);
    const started = performance.now();
    let firstToken: number | undefined;
    let tokens = 0;
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        stream: true,
        max_tokens: 48,
        messages: [{ role: "user", content: args.prompt }],
      }),
    });
    if (!response.ok || !response.body)
      throw new RigError(`the gateway answered ${response.status}: ${await response.text()}`);
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
        const delta = JSON.parse(line.slice(6)).choices?.[0]?.delta?.content;
        if (!delta) continue;
        firstToken ??= performance.now();
        tokens++;
        process.stdout.write(delta);
      }
    }
    const seconds = (performance.now() - (firstToken ?? started)) / 1000;
    process.stdout.write(
      `\n${pc.dim(`${tokens} tokens, first after ${Math.round((firstToken ?? started) - started)} ms, ${(tokens / Math.max(seconds, 1e-3)).toFixed(0)} tokens/s`)}\n`,
    );

    const agentReady =
      (await loadConfig({ home: root })).harnesses["claude-code"] !== undefined || which("claude");
    if (agentReady) {
      const prompt = ["-p", args.prompt, "--output-format", "text", "--allowedTools", "Bash"];
      process.stdout.write(
        `\n${pc.bold(`$ rig run claude-tiny -- ${prompt.map((arg) => (arg.includes(" ") ? `"${arg}"` : arg)).join(" ")}`)}\n`,
      );
      const { spawnSync } = await import("node:child_process");
      const agent = spawnSync(
        process.execPath,
        [process.argv[1]!, "run", "claude-tiny", "--home", root, "--", ...prompt],
        {
          stdio: ["ignore", "inherit", "inherit"],
        },
      );
      process.stdout.write(pc.dim(`Claude Code exited with ${agent.status}\n`));
      if (agent.status !== 0) process.exitCode = 1;
    } else {
      process.stdout.write(
        pc.dim(
          "\n(`rig install claude-code` puts Claude Code in rig's cache: run the demo again to see an agent here too)\n",
        ),
      );
    }

    process.stdout.write(`\n${pc.bold("$ rig gateway stop")}\n`);
    await call(config, "POST", "/rig/v1/shutdown");
    const { isAlive, sleep } = await import("../system/process.ts");
    while (isAlive(daemon.pid)) await sleep(50);
    process.stdout.write(`stopped the gateway and the tiny server\n`);
  },
});
