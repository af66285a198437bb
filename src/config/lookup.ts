import type { Config, Peer, Server } from "./types.ts";

/** Resolves a model name (server name or alias) to its server profile. */
export function findServer(config: Config, model: string): Server | undefined {
  // Own properties only: `__proto__` or `constructor` as a model name is unknown, not an object.
  if (Object.hasOwn(config.servers, model)) return config.servers[model];
  return Object.values(config.servers).find((server) => server.aliases.includes(model));
}

/** Splits `<peer>/<model>` when the part before the first slash names a peer; a model name may hold slashes itself. */
export function peerModel(config: Config, model: string): { peer: Peer; model: string } | undefined {
  const slash = model.indexOf("/");
  if (slash <= 0) return undefined;
  const name = model.slice(0, slash);
  if (!Object.hasOwn(config.peers, name)) return undefined;
  return { peer: config.peers[name]!, model: model.slice(slash + 1) };
}
