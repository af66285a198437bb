import type { Config } from "../config/loader.ts";
import { gatewayUrl } from "../config/urls.ts";
import type { ServerStatus } from "../supervisor/status.ts";
import { pc } from "./colors.ts";
import { RigError } from "./common.ts";
import { startServer } from "./daemon-client.ts";
import { progress } from "./progress.ts";

/**
 * Where to send requests, then the server's own process: its port is llama-server's, not the one
 * clients use, so it is named as the server's.
 */
function readyLine(config: Config, server: ServerStatus): string {
  const own = [
    server.pid === null ? "" : `pid ${server.pid}`,
    server.port === null ? "" : `on port ${server.port}`,
  ]
    .filter(Boolean)
    .join(" ");
  const where = `${gatewayUrl(config)}/v1, model "${server.name}"`;
  return `ready: ${where}${own ? pc.dim(` (${server.runtime} ${own})`) : ""}`;
}

/**
 * Brings a server to ready through the running daemon, its start's progress on stderr; a start that
 * fails throws with the server log's last lines. `done` ends the progress line with the ready line.
 */
export async function startWithProgress(
  config: Config,
  name: string,
): Promise<{ server: ServerStatus; done(): void }> {
  const bar = progress(name, 5000);
  const final = await startServer(config, name, (event) => {
    if (event.event === "progress") bar.update(event.line ?? "loading…", "loading");
  });
  if (final.event === "ready" && final.server) {
    const server = final.server;
    return { server, done: () => bar.done(readyLine(config, server)) };
  }
  bar.fail("failed");
  const tail = final.tail?.length
    ? `\nlast log lines:\n${final.tail.map((line) => `  ${line}`).join("\n")}`
    : "";
  throw new RigError(`${final.error}${tail}`);
}
