import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { homePaths } from "../config/home.ts";
import { findServer } from "../config/loader.ts";
import { ConfigError, didYouMean } from "../config/problems.ts";
import { followLog } from "../system/follow-log.ts";
import { pc } from "./colors.ts";
import { homeArg, loadOrProblems, printProblems, RigError } from "./common.ts";

/** The names logs/ holds a log for (`<name>.log`; rotated `.log.1` files belong to the same name). */
function loggedNames(logs: string): string[] {
  try {
    return readdirSync(logs)
      .filter((file) => file.endsWith(".log"))
      .map((file) => file.slice(0, -".log".length));
  } catch {
    return [];
  }
}

/**
 * The log's owner and the logs folder. A log needs only the home's paths: with a rig.yaml that does not
 * load (the gateway log is where a failed reload says why), any name logs/ holds a log for is accepted.
 */
async function resolveLog(home: string | undefined, asked: string): Promise<{ name: string; logs: string }> {
  const loaded = await loadOrProblems(home);
  if (loaded instanceof ConfigError) {
    printProblems(loaded, "note");
    process.stderr.write(
      `${pc.yellow("note:")} rig.yaml does not load (\`rig doctor\`); reading the log straight from logs/ (a running gateway keeps the config it last loaded)\n`,
    );
    const { logs } = homePaths(home);
    const known = ["gateway", ...loggedNames(logs).filter((name) => name !== "gateway")];
    if (!known.includes(asked)) throw new RigError(`no server named \`${asked}\`${didYouMean(asked, known)}`);
    return { name: asked, logs };
  }
  const name = asked === "gateway" ? "gateway" : findServer(loaded, asked)?.name;
  if (!name) {
    throw new RigError(
      `no server named \`${asked}\`${didYouMean(asked, ["gateway", ...Object.keys(loaded.servers)])}`,
    );
  }
  return { name, logs: loaded.home.logs };
}

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
    const { name, logs } = await resolveLog(args.home, args.name);
    const count = Number(args.lines);
    if (!Number.isInteger(count) || count < 0)
      throw new RigError(`-n takes a whole number, not ${args.lines}`, 2);
    const file = join(logs, `${name}.log`);
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
