import { defineCommand } from "citty";
import { findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError, UsageError } from "./common.ts";
import { call, daemonStatus } from "./daemon-client.ts";

export default defineCommand({
  meta: {
    name: "stop",
    description: "stop a server (or every server with --all); the gateway keeps running",
  },
  args: {
    server: { type: "positional", description: "server name or alias", required: false },
    all: { type: "boolean", description: "stop every server", default: false },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (!args.server && !args.all) throw new UsageError("name a server, or pass --all");
    const config = await loadOrExit(args.home);
    const server = args.server ? findServer(config, args.server) : undefined;
    if (args.server && !server) {
      throw new RigError(
        `no server named \`${args.server}\`${didYouMean(args.server, Object.keys(config.servers))}`,
      );
    }
    const running = await daemonStatus(config);
    if (running) {
      const reply = server
        ? await call(config, "POST", `/rig/v1/servers/${encodeURIComponent(server.name)}/stop`, 60_000)
        : await call(config, "POST", "/rig/v1/stop-all", 120_000);
      if (reply.status !== 200) throw new RigError(`the gateway answered ${reply.status}: ${reply.body}`);
    }
    const stopped = server ? [server.name] : Object.keys(config.servers);
    if (args.json) return printJson({ stopped });
    process.stdout.write(
      running ? `stopped ${stopped.join(", ")}\n` : "nothing is running (the gateway is not running)\n",
    );
  },
});
