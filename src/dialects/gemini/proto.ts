import type { Json } from "../types.ts";

// Google's REST API reads JSON into protocol buffers, which take every field under its proto name
// (`system_instruction`, as Google's curl examples write it) or its JSON name (`systemInstruction`,
// as the SDKs and Gemini CLI write it). rig reads both by renaming the first to the second.

/** Fields whose values hold the client's own names (function arguments and results, schemas whose
 *  property names are data): never renamed here; `jsonSchemaOf` renames a schema's keywords. */
const OPAQUE = new Set([
  "args",
  "response",
  "parameters",
  "parametersJsonSchema",
  "responseSchema",
  "responseJsonSchema",
]);

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

/** A field name as Google words it in errors (`generation_config.max_output_tokens`). */
export const snake = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

function renamed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renamed);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => {
      const name = camel(key);
      return [name, OPAQUE.has(name) ? inner : renamed(inner)];
    }),
  );
}

/** A request with every field under its JSON name. */
export function jsonNames(body: Json): Json {
  return renamed(body) as Json;
}

/**
 * A function's `parameters` (Google's OpenAPI subset: upper-case types, `nullable`) as the JSON
 * Schema a Chat runtime takes.
 */
export function jsonSchemaOf(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchemaOf);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    const keyword = camel(key);
    if (keyword === "type" && typeof value === "string") out.type = value.toLowerCase();
    else if (keyword === "nullable" || keyword === "propertyOrdering") continue;
    else if (keyword === "properties" && value && typeof value === "object")
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, property]) => [name, jsonSchemaOf(property)]),
      );
    else out[keyword] = jsonSchemaOf(value);
  }
  if ((schema as Json).nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  return out;
}
