import type { Config } from "./loader.ts";

/** Expanded values shorter than this are left as they are: replacing a `4` or `true` would rewrite unrelated text. */
const SHORTEST_SECRET = 8;

/**
 * `value` with every secret the config knows shown by name, in every string it holds (arrays and
 * objects walked): a value that came from `${env:NAME}` as that reference, and a literal gateway or
 * peer key as `<gateway.api_key>` or `<peers.NAME.api_key>`. What rig prints, writes to docs, logs and
 * records about a launch goes through this.
 */
export function redactSecrets<T>(config: Pick<Config, "expanded" | "gateway" | "peers">, value: T): T {
  const secrets = [...config.expanded].filter(([expanded]) => expanded.length >= SHORTEST_SECRET);
  // Keys are hidden whatever their length: a short key is still a key. One from `${env:NAME}` is shown
  // by that reference.
  const keys: Array<[string | undefined, string]> = [
    [config.gateway.apiKey, "<gateway.api_key>"],
    ...Object.values(config.peers).map((peer): [string | undefined, string] => [
      peer.apiKey,
      `<peers.${peer.name}.api_key>`,
    ]),
  ];
  for (const [key, placeholder] of keys)
    if (key) secrets.push([key, config.expanded.get(key) ?? placeholder]);
  if (!secrets.length) return value;
  // Longest first: a secret that contains another is shown whole.
  secrets.sort(([a], [b]) => b.length - a.length);
  const walk = (item: unknown): unknown => {
    if (typeof item === "string")
      return secrets.reduce((text, [secret, shown]) => text.replaceAll(secret, shown), item);
    if (Array.isArray(item)) return item.map(walk);
    if (item && typeof item === "object")
      return Object.fromEntries(Object.entries(item).map(([key, child]) => [key, walk(child)]));
    return item;
  };
  return walk(value) as T;
}
