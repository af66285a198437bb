// What the schema cannot see: how the profiles refer to each other and to peers and workers, and
// durations too long to time. Each problem is placed where it is written.
import { runtimeFor } from "../runtimes/index.ts";
import { LONGEST_TIMER_MS } from "./duration.ts";
import { findServer, peerModel } from "./lookup.ts";
import { didYouMean, type KeyPath, type Problem } from "./problems.ts";
import type { Config, Server } from "./types.ts";

/** Every problem across the resolved config. */
export function checkConfig(config: Config): Problem[] {
  return [...checkReferences(config), ...checkTimers(config)];
}

/**
 * Durations rig cannot time: a timer longer than 24.8 days would fire at once (a ttl that unloads after
 * every request, a timeout that cuts every stream), so they are refused rather than shortened.
 */
function checkTimers(config: Config): Problem[] {
  const days = Math.floor(LONGEST_TIMER_MS / 8_640_000) / 10;
  const timers = Object.values(config.servers).flatMap((server) =>
    [
      { key: ["ttl"], ms: server.ttlMs, written: server.ttl, zero: "0 keeps the server loaded" },
      {
        key: ["timeout", "start"],
        ms: server.startTimeoutMs,
        written: server.timeout.start,
        zero: "0 means no limit",
      },
      {
        key: ["timeout", "response"],
        ms: server.responseTimeoutMs,
        written: server.timeout.response,
        zero: "0 means no limit",
      },
    ].map((timer) => ({ ...timer, owner: ["servers", server.name] })),
  );
  // A peer keeps only its parsed timeout: it is shown in whole days, which is how long it is anyway.
  for (const peer of Object.values(config.peers))
    timers.push({
      key: ["timeout"],
      ms: peer.timeoutMs,
      written: `${Math.round(peer.timeoutMs / 8_640_000) / 10}d`,
      zero: "0 means no limit",
      owner: ["peers", peer.name],
    });
  return timers
    .filter(({ ms }) => ms > LONGEST_TIMER_MS)
    .map(({ key, written, zero, owner }) => {
      const path = [...owner, ...key];
      return {
        level: "error",
        code: "duration-too-long",
        message: `${key.join(".")} ${written} is longer than rig can time (${days} days at most); ${zero}`,
        path: path.join("."),
        where: config.where(path),
      };
    });
}

/** Problems in how the profiles refer to each other: unknown servers, clashing aliases, clashing ports. */
function checkReferences(config: Config): Problem[] {
  const problems: Problem[] = [];
  const routeNames = new Map<string, string>();
  for (const server of Object.values(config.servers)) routeNames.set(server.name, `servers.${server.name}`);
  for (const server of Object.values(config.servers)) {
    server.aliases.forEach((alias, index) => {
      const owner = routeNames.get(alias);
      if (owner) {
        problems.push({
          level: "error",
          code: "duplicate-alias",
          message: `alias \`${alias}\` is already used by ${owner}; a model name must route to one server`,
          path: `servers.${server.name}.aliases`,
          where: config.where(["servers", server.name, "aliases", index]),
        });
      } else {
        routeNames.set(alias, `servers.${server.name}.aliases`);
      }
    });
  }
  problems.push(...checkHops(config, routeNames));
  for (const agent of Object.values(config.agents)) {
    if (!findServer(config, agent.server) && !peerModel(config, agent.server)) {
      problems.push({
        level: "error",
        code: "unknown-server",
        message: `unknown server \`${agent.server}\`${didYouMean(agent.server, routeNames.keys())}`,
        path: `agents.${agent.name}.server`,
        where: config.where(["agents", agent.name, "server"]),
      });
    }
  }
  const portOwners = new Map<number, Server>();
  for (const server of Object.values(config.servers)) {
    if (server.port === undefined) continue;
    if (server.port === config.gateway.port) {
      problems.push({
        level: "error",
        code: "port-clash",
        message: `port ${server.port} is the gateway's port; pick another or leave \`port:\` out to get a free one`,
        path: `servers.${server.name}.port`,
        where: config.where(["servers", server.name, "port"]),
      });
    }
    const other = portOwners.get(server.port);
    const sameGroup = other?.group !== undefined && other.group === server.group;
    const shared = other && runtimeFor(other.runtime).sharedProcess && other.runtime === server.runtime;
    if (other && !sameGroup && !shared) {
      const first = config.where(["servers", other.name, "port"]);
      problems.push({
        level: "error",
        code: "port-clash",
        message: `port ${server.port} is also used by servers.${other.name} (${first.file}:${first.line}:${first.col}); two servers that can run together need different ports (or the same group)`,
        path: `servers.${server.name}.port`,
        where: config.where(["servers", server.name, "port"]),
      });
    }
    if (!other) portOwners.set(server.port, server);
  }
  return problems;
}

/** Problems in what a server reaches beyond itself: fallbacks, rpc workers, multi-node plans. */
function checkHops(config: Config, routeNames: Map<string, string>): Problem[] {
  const problems: Problem[] = [];
  const problem = (code: string, message: string, path: KeyPath) =>
    problems.push({ level: "error", code, message, path: path.join("."), where: config.where(path) });
  for (const server of Object.values(config.servers)) {
    const acrossHosts = runtimeFor(server.runtime).acrossHosts;
    server.fallback.forEach((target, index) => {
      const path = ["servers", server.name, "fallback", index];
      const local = findServer(config, target);
      if (local === server) problem("fallback-self", `\`${target}\` is this server itself`, path);
      else if (!local && !peerModel(config, target)) {
        const peerHint = target.includes("/")
          ? ` (no peer \`${target.slice(0, target.indexOf("/"))}\` in \`peers:\`)`
          : didYouMean(target, routeNames.keys());
        problem("unknown-server", `unknown server \`${target}\`${peerHint}`, path);
      }
    });
    if (server.rpc.length && acrossHosts !== "rpc")
      problem("rpc-runtime", `\`rpc:\` is only for llama.cpp servers (rpc-server workers)`, [
        "servers",
        server.name,
        "rpc",
      ]);
    if (server.tensor_split && acrossHosts !== "rpc")
      problem("rpc-runtime", `\`tensor_split:\` is only for llama.cpp servers`, [
        "servers",
        server.name,
        "tensor_split",
      ]);
    server.rpc.forEach((worker, index) => {
      if (!Object.hasOwn(config.workers, worker))
        problem(
          "unknown-worker",
          `unknown worker \`${worker}\`${didYouMean(worker, Object.keys(config.workers))}; name it in \`workers:\` (host, port)`,
          ["servers", server.name, "rpc", index],
        );
    });
    if (server.nodes.length && acrossHosts !== "nodes")
      problem("nodes-runtime", `\`nodes:\` is only for vllm servers (a multi-node plan)`, [
        "servers",
        server.name,
        "nodes",
      ]);
  }
  return problems;
}
