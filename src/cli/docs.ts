import { relative } from "node:path";
import { defineCommand } from "citty";
import type { Config } from "../config/loader.ts";
import { type DocsAction, writeDocs } from "../docs/write.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson } from "./common.ts";

/** Regenerates the docs after a config change; only what needs a person's attention is printed (stderr). */
export async function refreshDocs(config: Config): Promise<DocsAction[]> {
  const actions = await writeDocs(config);
  for (const action of actions.filter((candidate) => candidate.state === "skipped"))
    process.stderr.write(`${pc.yellow("docs:")} left ${action.path} alone: ${action.reason}\n`);
  return actions;
}

export default defineCommand({
  meta: {
    name: "docs",
    description:
      "regenerate docs/STACK.md, docs/stack.json and the rig block of AGENTS.md from rig.yaml (also done by any command after rig.yaml changes)",
  },
  args: {
    check: { type: "boolean", description: "write nothing; exit 1 when the docs are not current" },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args }) {
    const config = await loadOrExit(args.home, { docs: false });
    const actions = await writeDocs(config, { check: Boolean(args.check) });
    const stale = actions.some((action) => action.state === "written");
    if (args.check && stale) process.exitCode = 1;
    if (args.json) return printJson(actions);
    for (const action of actions) {
      const path = relative(process.cwd(), action.path).startsWith("..")
        ? action.path
        : relative(process.cwd(), action.path);
      const state =
        action.state === "written"
          ? args.check
            ? pc.yellow("out of date")
            : pc.green("written")
          : action.state === "skipped"
            ? `${pc.yellow("skipped")} ${action.reason}`
            : pc.dim("unchanged");
      process.stdout.write(`${state}  ${path}\n`);
    }
    if (args.check && stale) process.stdout.write("run `rig docs` to regenerate\n");
  },
});
