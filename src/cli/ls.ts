import { join } from "node:path";
import { defineCommand } from "citty";
import Table from "cli-table3";
import pc from "picocolors";
import { homeArg, jsonArg, loadOrExit, printJson, section } from "./common.ts";

export default defineCommand({
  meta: { name: "ls", description: "list server and agent profiles with their state" },
  args: { ...homeArg, ...jsonArg },
  run({ args }) {
    const config = loadOrExit(args.home);
    const servers = Object.values(config.servers).map((server) => ({
      name: server.name,
      runtime: server.runtime,
      model: server.modelPath ?? server.url ?? null,
      port: server.port ?? null,
      aliases: server.aliases,
      group: server.group ?? null,
      state: "stopped",
    }));
    const agents = Object.values(config.agents).map((agent) => ({
      name: agent.name,
      harness: agent.harness,
      server: agent.server,
      shim: join(config.paths.bin, agent.name),
    }));
    if (args.json) return printJson({ servers, agents });
    const serverTable = new Table({
      head: ["server", "runtime", "state", "port", "aliases", "group", "model"],
      style: { head: [] },
    });
    for (const server of servers) {
      serverTable.push([
        pc.bold(server.name),
        server.runtime,
        server.state,
        server.port ?? pc.dim("auto"),
        server.aliases.join(", "),
        server.group ?? "",
        server.model ?? "",
      ]);
    }
    const agentTable = new Table({ head: ["agent", "harness", "server", "shim"], style: { head: [] } });
    for (const agent of agents)
      agentTable.push([pc.bold(agent.name), agent.harness, agent.server, agent.shim]);
    process.stdout.write(
      `${section("servers")}\n${serverTable.toString()}\n${section("agents")}\n${agentTable.toString()}\n`,
    );
  },
});
