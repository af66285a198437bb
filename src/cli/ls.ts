import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, section } from "./common.ts";
import { peerStateCell } from "./peers.ts";
import { table } from "./table.ts";

export default defineCommand({
  meta: { name: "ls", description: "list server and agent profiles with their state" },
  args: { ...homeArg, ...jsonArg },
  async run({ args }) {
    const config = await loadOrExit(args.home);
    // The daemon leaves state/gateway.json while it runs: without it there is nothing to ask.
    const live = existsSync(join(config.home.state, "gateway.json"))
      ? await (await import("./daemon-client.ts")).daemonStatus(config).catch(() => undefined)
      : undefined;
    const stateOf = new Map(live?.servers.map((server) => [server.name, server.state]));
    const servers = Object.values(config.servers).map((server) => ({
      name: server.name,
      runtime: server.runtime,
      model: server.modelPath ?? server.url ?? null,
      port: server.port ?? null,
      aliases: server.aliases,
      group: server.group ?? null,
      state: stateOf.get(server.name) ?? "stopped",
    }));
    // As the daemon last listed them (every minute); `rig ps` lists them afresh.
    const peerStatus = new Map(live?.peers?.map((peer) => [peer.name, peer]));
    const peers = Object.values(config.peers).map((peer) => {
      const seen = peerStatus.get(peer.name);
      return {
        name: peer.name,
        url: peer.url,
        reachable: seen?.reachable ?? null,
        rtt_ms: seen?.rtt_ms ?? null,
        kind: seen?.kind ?? null,
        models: seen?.models ?? [],
      };
    });
    const agents = Object.values(config.agents).map((agent) => ({
      name: agent.name,
      harness: agent.harness,
      server: agent.server,
      shim: join(config.paths.bin, agent.name),
    }));
    if (args.json) return printJson({ servers, peers, agents });
    const serverRows = servers.map((server) => [
      pc.bold(server.name),
      server.runtime,
      server.state,
      server.port ?? pc.dim("auto"),
      server.aliases.join(","),
      server.group,
      server.model,
    ]);
    const peerRows = peers.map((peer) => [
      pc.bold(peer.name),
      peerStateCell(peer.reachable),
      peer.rtt_ms === null ? "" : `${peer.rtt_ms} ms`,
      peer.models.join(","),
      peer.url,
    ]);
    const agentRows = agents.map((agent) => [pc.bold(agent.name), agent.harness, agent.server, agent.shim]);
    process.stdout.write(
      [
        section("servers"),
        table(["server", "runtime", "state", "port", "aliases", "group", "model"], serverRows),
        "",
        ...(peers.length
          ? [section("peers"), table(["peer", "state", "rtt", "models", "url"], peerRows), ""]
          : []),
        section("agents"),
        table(["agent", "harness", "server", "shim"], agentRows),
        "",
      ].join("\n"),
    );
  },
});
