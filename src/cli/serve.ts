import { defineCommand } from "citty";
import { findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError } from "./common.ts";
import { ensureDaemon, startServer } from "./daemon-client.ts";
import { progress } from "./progress.ts";

export default defineCommand({
  meta: { name: "serve", description: "start a server through the gateway and wait until it is healthy" },
  args: {
    server: { type: "positional", description: "server name or alias", required: true },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args }) {
    const config = await loadOrExit(args.home);
    const server = findServer(config, args.server);
    if (!server) {
      throw new RigError(
        `no server named \`${args.server}\`${didYouMean(args.server, Object.keys(config.servers))} (see \`rig ls\`)`,
      );
    }
    await ensureDaemon(config);
    const bar = progress(server.name, 5000);
    const final = await startServer(config, server.name, (event) => {
      if (event.event === "progress") bar.update(event.line ?? "loading…", "loading");
    });
    if (final.event === "ready") {
      if (args.json) return printJson(final.server);
      bar.done(`ready on port ${final.server?.port ?? "?"} (pid ${final.server?.pid ?? "?"})`);
      return;
    }
    bar.fail("failed");
    const tail = final.tail?.length
      ? `\nlast log lines:\n${final.tail.map((line) => `  ${line}`).join("\n")}`
      : "";
    throw new RigError(`${final.error}${tail}`);
  },
});
