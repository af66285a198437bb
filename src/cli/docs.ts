import { relative } from "node:path";
import { defineCommand } from "citty";
import { writeDocs } from "../docs/write.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson } from "./common.ts";

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
