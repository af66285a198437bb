// Installs the real agent CLIs the tests drive, pinned, into rig's cache (never as dependencies of
// this repo: together they weigh about a gigabyte). Idempotent: an installed version is kept.
// Prints nothing when everything is there. Versions are the newest that run on Node 20.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const AGENTS = {
  "claude-code": { spec: "@anthropic-ai/claude-code@2.1.197", bin: "claude" },
  codex: { spec: "@openai/codex@0.169.0", bin: "codex" },
  "qwen-code": { spec: "@qwen-code/qwen-code@0.15.10", bin: "qwen" },
  pi: { spec: "@mariozechner/pi-coding-agent@0.73.1", bin: "pi" },
  opencode: { spec: "opencode-ai@1.18.33", bin: "opencode" },
};

export function agentsDir(env = process.env) {
  return join(env.RIG_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "rig"), "agents");
}

export function agentBin(name, env = process.env) {
  const agent = AGENTS[name];
  return join(agentsDir(env), `${name}-${agent.spec.split("@").pop()}`, "node_modules", ".bin", agent.bin);
}

export function installAgents(names = Object.keys(AGENTS)) {
  for (const [name, agent] of Object.entries(AGENTS).filter(([candidate]) => names.includes(candidate))) {
    if (existsSync(agentBin(name))) continue;
    const dir = join(agentsDir(), `${name}-${agent.spec.split("@").pop()}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), '{ "private": true }\n');
    console.error(`installing ${agent.spec} into ${dir}`);
    const result = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", agent.spec], {
      cwd: dir,
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (result.status !== 0 || !existsSync(agentBin(name)))
      throw new Error(`could not install ${agent.spec} (npm exit ${result.status})`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  installAgents(process.argv.length > 2 ? process.argv.slice(2) : undefined);
