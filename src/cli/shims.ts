import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  rmSync,
  statSync,
} from "node:fs";
import { delimiter, join } from "node:path";
import { defineCommand } from "citty";
import type { Config } from "../config/loader.ts";
import { planShims, type ShimAction } from "../shims/shims.ts";
import { writeFileAtomic } from "../system/atomic-write.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson } from "./common.ts";
import { table } from "./table.ts";

/** How a shim calls rig: this node and this rig, by absolute path, so it works from any PATH. */
export function rigCommand(): string[] {
  return [process.execPath, realpathSync(process.argv[1]!)];
}

function head(path: string): string {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(4096);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, read).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** The files now in paths.bin, name → their first 4 KB (enough to see rig's marker). */
function existingFiles(bin: string): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(bin)) return files;
  for (const name of readdirSync(bin)) {
    const path = join(bin, name);
    try {
      if (statSync(path).isFile()) files.set(name, head(path));
    } catch {}
  }
  return files;
}

export function shimPlan(config: Config): ShimAction[] {
  return planShims(config, rigCommand(), existingFiles(config.paths.bin), (name) =>
    join(config.paths.bin, name),
  );
}

/** Writes and removes what the plan says, atomically per file; never touches a file without rig's marker. */
export function syncShims(config: Config): ShimAction[] {
  const actions = shimPlan(config);
  mkdirSync(config.paths.bin, { recursive: true });
  for (const action of actions) {
    if (action.kind === "write") {
      writeFileAtomic(action.path, action.content, { mode: action.agent ? 0o755 : undefined });
    } else if (action.kind === "remove") rmSync(action.path, { force: true });
  }
  return actions;
}

export function binOnPath(bin: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.PATH ?? "").split(delimiter).some((dir) => dir === bin || dir === `${bin}/`);
}

const describe = (action: ShimAction) =>
  action.kind === "write"
    ? `${action.reason === "new" ? pc.green("wrote") : pc.yellow("updated")} ${action.path}`
    : action.kind === "remove"
      ? `${pc.yellow("removed")} ${action.path} (agent ${action.name} is gone)`
      : action.kind === "foreign"
        ? `${pc.red("skipped")} ${action.path}: it was not written by rig; rename your file or the agent`
        : `${pc.dim("ok")} ${action.path}`;

const sync = defineCommand({
  meta: {
    name: "sync",
    description: "write one command per agent into paths.bin; remove those of agents that are gone",
  },
  args: { ...homeArg, ...jsonArg },
  async run({ args }) {
    const config = await loadOrExit(args.home);
    const actions = syncShims(config);
    if (args.json)
      return printJson({
        bin: config.paths.bin,
        on_path: binOnPath(config.paths.bin),
        actions: actions.map(({ content, ...action }: ShimAction & { content?: string }) => action),
      });
    for (const action of actions) process.stdout.write(`${describe(action)}\n`);
    if (!binOnPath(config.paths.bin))
      process.stdout.write(
        `${pc.yellow("note:")} ${config.paths.bin} is not on your PATH: add it to use the commands by name\n`,
      );
    if (actions.some((action) => action.kind === "foreign")) process.exitCode = 1;
  },
});

const ls = defineCommand({
  meta: { name: "ls", description: "list the agent commands and whether they are current" },
  args: { ...homeArg, ...jsonArg },
  async run({ args }) {
    const config = await loadOrExit(args.home);
    const rows = shimPlan(config)
      .filter((action) => action.kind !== "remove" && !(action.kind === "write" && !action.agent))
      .map((action) => ({
        agent: "agent" in action ? action.agent! : "",
        path: action.path,
        state:
          action.kind === "keep"
            ? "ok"
            : action.kind === "foreign"
              ? "foreign"
              : action.kind === "write" && action.reason === "new"
                ? "missing"
                : "stale",
      }));
    if (args.json) return printJson(rows);
    process.stdout.write(
      `${table(
        ["agent", "state", "shim"],
        rows.map((row) => [pc.bold(row.agent), row.state, row.path]),
      )}\n`,
    );
  },
});

export default defineCommand({
  meta: { name: "shims", description: "one-word commands per agent: sync | ls" },
  subCommands: { sync, ls },
});
