import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, section } from "./common.ts";
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
    const agents = Object.values(config.agents).map((agent) => ({
      name: agent.name,
      harness: agent.harness,
      server: agent.server,
      shim: join(config.paths.bin, agent.name),
    }));
    if (args.json) return printJson({ servers, agents });
    const serverRows = servers.map((server) => [
      pc.bold(server.name),
      server.runtime,
      server.state,
      server.port ?? pc.dim("auto"),
      server.aliases.join(","),
      server.group,
      server.model,
    ]);
    const agentRows = agents.map((agent) => [pc.bold(agent.name), agent.harness, agent.server, agent.shim]);
    process.stdout.write(
      [
        section("servers"),
        table(["server", "runtime", "state", "port", "aliases", "group", "model"], serverRows),
        "",
        section("agents"),
        table(["agent", "harness", "server", "shim"], agentRows),
        "",
      ].join("\n"),
    );
  },
});
