import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { homePaths, resolveConfigPath } from "../config/home.ts";
import { configJsonSchema } from "../config/schema.ts";
import { SCHEMA_FILE, STARTER_GITIGNORE, type StarterServer, starterConfig } from "../config/starter.ts";
import { HARNESSES } from "../harnesses/index.ts";
import { cachedAgent } from "../install/agents.ts";
import { RUNTIMES, runtimeForFormat } from "../runtimes/index.ts";
import { which } from "../system/which.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, printJson, RigError } from "./common.ts";
import { cachedBuild } from "./install.ts";

/** The first GGUF file under the usual model folders, looked for shallowly so init stays instant. */
function findGguf(roots: string[], maxDepth = 4): string | undefined {
  let budget = 2000;
  const walk = (dir: string, depth: number): string | undefined => {
    if (depth > maxDepth || budget <= 0) return undefined;
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return undefined;
    }
    budget -= entries.length;
    const gguf = entries.find(
      (entry) =>
        entry.isFile() && entry.name.endsWith(".gguf") && !/-000(0[2-9]|[1-9]\d)-of-/.test(entry.name),
    );
    if (gguf) return join(dir, gguf.name);
    for (const entry of entries) {
      if (entry.isDirectory() && !entry.name.startsWith(".")) {
        const found = walk(join(dir, entry.name), depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  for (const root of roots) {
    const found = walk(root, 0);
    if (found) return found;
  }
  return undefined;
}

function serverNameFor(file: string): string {
  const base = file
    .split("/")
    .pop()!
    .replace(/\.gguf$/, "")
    .toLowerCase();
  return (
    base
      .replace(/[^a-z0-9._-]+/g, "-")
      .replace(/^[^a-z0-9]+/, "")
      .slice(0, 40) || "local"
  );
}

export interface InitResult {
  home: string;
  config: string;
  runtimes: string[];
  harnesses: string[];
  server?: string;
}

/** Creates a rig home: folders, a starter rig.yaml with what this machine has, its schema and a .gitignore. */
export function initHome(homeFlag: string | undefined, options: { server?: StarterServer } = {}): InitResult {
  const home = homePaths(homeFlag);
  if (existsSync(home.config)) {
    throw new RigError(
      `${home.config} already exists; rig never overwrites it (edit it, or choose another --home)`,
    );
  }
  for (const dir of [home.root, home.docs, home.logs, home.state, join(home.root, "models")])
    mkdirSync(dir, { recursive: true });

  const runtimeCommands: Record<string, string> = {};
  const runtimesFound: string[] = [];
  for (const adapter of Object.values(RUNTIMES)) {
    const executable = adapter.defaultCommand[0];
    if (!executable || !adapter.detectable) continue;
    const onPath = which(executable);
    const built = onPath ? undefined : cachedBuild(adapter);
    if (onPath || built) runtimesFound.push(adapter.kind);
    if (built) runtimeCommands[adapter.kind] = built;
  }
  // As for runtimes: a CLI on PATH is the one people run, so rig's cached one is named only without it.
  const harnessCommands: Record<string, string> = {};
  const harnessesFound: string[] = [];
  for (const harness of Object.values(HARNESSES)) {
    const onPath = which(harness.defaultCommand[0]!);
    const cached = onPath ? undefined : cachedAgent(harness.name);
    if (onPath || cached) harnessesFound.push(harness.name);
    if (cached) harnessCommands[harness.name] = cached.path;
  }

  let server = options.server;
  const ggufRuntime = runtimeForFormat("gguf");
  if (!server && ggufRuntime && runtimesFound.includes(ggufRuntime.kind)) {
    const roots = ["models", "~/.lmstudio/models", "~/.cache/huggingface/hub"].map((path) =>
      resolveConfigPath(path, home.root),
    );
    const gguf = findGguf(roots);
    if (gguf) server = { name: serverNameFor(gguf), runtime: ggufRuntime.kind, model: gguf, context: 8192 };
  }
  const starter = starterConfig({ runtimeCommands, runtimesFound, harnessCommands, harnessesFound, server });
  writeFileSync(home.config, starter, { flag: "wx" });
  writeFileSync(join(home.root, SCHEMA_FILE), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  const gitignore = join(home.root, ".gitignore");
  if (!existsSync(gitignore)) writeFileSync(gitignore, STARTER_GITIGNORE);
  return {
    home: home.root,
    config: home.config,
    runtimes: runtimesFound,
    harnesses: harnessesFound,
    server: server?.name,
  };
}

export default defineCommand({
  meta: {
    name: "init",
    description: "create the rig home with a commented starter rig.yaml for what this machine has",
  },
  args: { ...homeArg, ...jsonArg },
  run({ args }) {
    const result = initHome(args.home);
    if (args.json) return printJson(result);
    process.stdout.write(
      [
        `${pc.green("created")} ${result.config}`,
        `  runtimes found: ${result.runtimes.join(", ") || "none"}`,
        `  agent CLIs found: ${result.harnesses.join(", ") || "none"}`,
        result.server
          ? `  server profile: ${result.server}`
          : "  no model found yet: point a server's model: at one, or `rig add server`",
        "next: `rig doctor` to check it, `rig explain <name>` to see what will run",
        "",
      ].join("\n"),
    );
  },
});
