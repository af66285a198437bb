import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { followLog } from "../system/follow-log.ts";
import { homeArg, loadOrExit, RigError } from "./common.ts";

export default defineCommand({
  meta: {
    name: "logs",
    description: "show a server's log (or the gateway's): rig logs <server|gateway> [-f] [-n N]",
  },
  args: {
    name: { type: "positional", description: "server name or `gateway`", required: true },
    follow: { type: "boolean", alias: "f", description: "keep printing new lines", default: false },
    lines: {
      type: "string",
      alias: "n",
      description: "how many lines from the end",
      default: "50",
      valueHint: "N",
    },
    ...homeArg,
  },
  async run({ args }) {
    const config = await loadOrExit(args.home);
    const name = args.name === "gateway" ? "gateway" : findServer(config, args.name)?.name;
    if (!name) {
      throw new RigError(
        `no server named \`${args.name}\`${didYouMean(args.name, ["gateway", ...Object.keys(config.servers)])}`,
      );
    }
    const count = Number(args.lines);
    if (!Number.isInteger(count) || count < 0)
      throw new RigError(`-n takes a whole number, not ${args.lines}`, 2);
    const file = join(config.home.logs, `${name}.log`);
    if (!existsSync(file) && !args.follow) {
      process.stderr.write(
        `no log yet for ${name} (${file}): it is written when the ${name === "gateway" ? "gateway" : "server"} first starts\n`,
      );
      return;
    }
    // The last lines arrive before followLog returns; with -f it then reads on, across rotations
    // (the old file to its end first) and keeps the process running until it is interrupted.
    const follower = followLog(
      file,
      (lines) => {
        if (lines.length) process.stdout.write(`${lines.join("\n")}\n`);
      },
      { lines: count, keepAlive: args.follow, once: !args.follow },
    );
    if (!args.follow) follower.close();
  },
});
