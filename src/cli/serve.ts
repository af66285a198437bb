import { defineCommand } from "citty";
import { findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { gatewayUrl } from "../config/urls.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError } from "./common.ts";
import { daemonStatus, startDaemon } from "./daemon-client.ts";
import { startWithProgress } from "./start-progress.ts";

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
    const gateway = gatewayUrl(config);
    const running = await daemonStatus(config);
    if (!running) {
      // The daemon outlives this command and `rig stop`: say it now, and how it ends.
      const started = await startDaemon(config);
      process.stderr.write(
        `${pc.yellow("note:")} started the gateway on ${gateway} (pid ${started.pid}); \`rig gateway stop\` stops it and every server\n`,
      );
    }
    const ready = await startWithProgress(config, server.name);
    if (args.json) return printJson({ ...ready.server, gateway_url: gateway, gateway_started: !running });
    ready.done();
  },
});
