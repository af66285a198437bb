import { RUNTIME_KEY_FILE } from "./home.ts";
import type { Config } from "./loader.ts";

/** Expanded values shorter than this are left as they are: replacing a `4` or `true` would rewrite unrelated text. */
const SHORTEST_SECRET = 8;

/**
 * `value` with every secret the config knows shown by name, in every string it holds (arrays and
 * objects walked): a value that came from `${env:NAME}` as that reference, and a literal gateway or
 * peer key as `<gateway.api_key>` or `<peers.NAME.api_key>`. What rig prints, writes to docs, logs and
 * records about a launch goes through this.
 */
export function redactSecrets<T>(config: SecretSource, value: T): T {
  const secrets = secretsOf(config);
  if (!secrets.length) return value;
  const walk = (item: unknown): unknown => {
    if (typeof item === "string") return hideSecrets(secrets, item);
    if (Array.isArray(item)) return item.map(walk);
    if (item && typeof item === "object")
      return Object.fromEntries(Object.entries(item).map(([key, child]) => [key, walk(child)]));
    return item;
  };
  return walk(value) as T;
}

type SecretSource = Pick<Config, "expanded" | "gateway" | "peers"> & Partial<Pick<Config, "runtimeKey">>;

/** A secret's value and how it is shown in its place. */
export type Secret = readonly [value: string, shown: string];

/** Every secret the config knows, longest first, so that a secret containing another is shown whole. */
export function secretsOf(config: SecretSource): Secret[] {
  const secrets: Secret[] = [...config.expanded].filter(([expanded]) => expanded.length >= SHORTEST_SECRET);
  // Keys are hidden whatever their length: a short key is still a key. One from `${env:NAME}` is shown
  // by that reference.
  const keys: Array<[string | undefined, string]> = [
    [config.gateway.apiKey, "<gateway.api_key>"],
    [config.runtimeKey, `<state/${RUNTIME_KEY_FILE}>`],
    ...Object.values(config.peers).map((peer): [string | undefined, string] => [
      peer.apiKey,
      `<peers.${peer.name}.api_key>`,
    ]),
  ];
  for (const [key, placeholder] of keys)
    if (key) secrets.push([key, config.expanded.get(key) ?? placeholder]);
  return secrets.sort(([a], [b]) => b.length - a.length);
}

/** `text` with each of `secrets` (from `secretsOf`) shown by name. */
export function hideSecrets(secrets: readonly Secret[], text: string): string {
  return secrets.reduce((hidden, [secret, shown]) => hidden.replaceAll(secret, shown), text);
}
