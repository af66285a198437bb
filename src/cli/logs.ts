import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { sleep } from "../system/process.ts";
import { homeArg, loadOrExit, RigError } from "./common.ts";

/** Prints what is appended to a file, following rotation (a new inode or a shorter file starts over). */
async function follow(file: string, from: number): Promise<never> {
  let position = from;
  let inode = existsSync(file) ? statSync(file).ino : 0;
  for (;;) {
    await sleep(250);
    if (!existsSync(file)) continue;
    const stat = statSync(file);
    if (stat.ino !== inode || stat.size < position) {
      inode = stat.ino;
      position = 0;
    }
    if (stat.size > position) {
      const fd = openSync(file, "r");
      const buffer = Buffer.alloc(stat.size - position);
      readSync(fd, buffer, 0, buffer.length, position);
      closeSync(fd);
      position = stat.size;
      process.stdout.write(buffer);
    }
  }
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
    let size = 0;
    if (existsSync(file)) {
      const text = readFileSync(file, "utf8");
      size = Buffer.byteLength(text);
      const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
      if (count > 0 && text) process.stdout.write(`${lines.slice(-count).join("\n")}\n`);
    } else if (!args.follow) {
      process.stderr.write(
        `no log yet for ${name} (${file}): it is written when the ${name === "gateway" ? "gateway" : "server"} first starts\n`,
      );
      return;
    }
    if (args.follow) await follow(file, size);
  },
});
