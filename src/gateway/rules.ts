import type { RequestRules } from "../config/schema.ts";

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Merges `patch` into `target`: objects merge key by key, anything else is replaced (arrays too). */
function mergeWinning(target: Json, patch: Json): Json {
  const out: Json = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    out[key] =
      isObject(value) && isObject(out[key]) ? mergeWinning(out[key] as Json, value) : structuredClone(value);
  }
  return out;
}

/** Fills in `defaults` only where `target` has nothing; objects are filled key by key. */
function mergeMissing(target: Json, defaults: Json): Json {
  const out: Json = { ...target };
  for (const [key, value] of Object.entries(defaults)) {
    if (out[key] === undefined) out[key] = structuredClone(value);
    else if (isObject(value) && isObject(out[key])) out[key] = mergeMissing(out[key] as Json, value);
  }
  return out;
}

function dropPath(target: Json, path: string): Json {
  const [head, ...rest] = path.split(".");
  if (head === undefined || !(head in target)) return target;
  const out: Json = { ...target };
  if (rest.length === 0) delete out[head];
  else if (isObject(out[head])) out[head] = dropPath(out[head] as Json, rest.join("."));
  return out;
}

/**
 * Applies one owner's rules to a request body: `drop` first (so a dropped client value can be set
 * again), then `defaults` where the client is silent, then `set`, which wins.
 */
export function applyRules(body: Json, rules: RequestRules | undefined): Json {
  if (!rules) return body;
  let out = body;
  for (const path of rules.drop ?? []) out = dropPath(out, path);
  if (rules.defaults) out = mergeMissing(out, rules.defaults);
  if (rules.set) out = mergeWinning(out, rules.set);
  return out;
}
