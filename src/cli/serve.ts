import { defineCommand } from "citty";
import { findServer } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { gatewayUrl } from "../config/urls.ts";
import type { ServerStatus } from "../supervisor/status.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError } from "./common.ts";
import { daemonStatus, startDaemon, startServer } from "./daemon-client.ts";
import { progress } from "./progress.ts";

/**
 * Where to send requests, then the server's own process: its port is llama-server's, not the one
 * clients use, so it is named as the server's.
 */
function readyLine(gateway: string, server: ServerStatus): string {
  const own = [
    server.pid === null ? "" : `pid ${server.pid}`,
    server.port === null ? "" : `on port ${server.port}`,
  ]
    .filter(Boolean)
    .join(" ");
  return `ready: ${gateway}/v1, model "${server.name}"${own ? pc.dim(` (${server.runtime} ${own})`) : ""}`;
}

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
    const bar = progress(server.name, 5000);
    const final = await startServer(config, server.name, (event) => {
      if (event.event === "progress") bar.update(event.line ?? "loading…", "loading");
    });
    if (final.event === "ready" && final.server) {
      if (args.json) return printJson({ ...final.server, gateway_url: gateway, gateway_started: !running });
      bar.done(readyLine(gateway, final.server));
      return;
    }
    bar.fail("failed");
    const tail = final.tail?.length
      ? `\nlast log lines:\n${final.tail.map((line) => `  ${line}`).join("\n")}`
      : "";
    throw new RigError(`${final.error}${tail}`);
  },
});
