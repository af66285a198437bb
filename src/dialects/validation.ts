import { type ZodType, z } from "zod";
import type { Json } from "./types.ts";

/**
 * The building blocks of the request schemas. Each type's error is the name of what it expects
 * ("integer"), so that every dialect can word a problem the way its real API does.
 */
export type Expected =
  | "string"
  | "integer"
  | "number"
  | "boolean"
  | "list"
  | "object"
  | "string or list"
  | "string or object";

export const field = {
  string: () => z.string({ error: "string" }),
  integer: () => z.int({ error: "integer" }),
  number: () => z.number({ error: "number" }),
  boolean: () => z.boolean({ error: "boolean" }),
  list: <Item extends ZodType>(item: Item) => z.array(item, { error: "list" }),
  object: <Shape extends z.ZodRawShape>(shape: Shape) => z.looseObject(shape, { error: "object" }),
  stringOrList: <Item extends ZodType>(item: Item) =>
    z.union([z.string(), z.array(item)], { error: "string or list" }),
  /** One of the named modes (`"auto"`), or an object. */
  modeOrObject: <Modes extends readonly [string, ...string[]], Choice extends ZodType>(
    modes: Modes,
    object: Choice,
  ) => z.union([z.string().pipe(z.enum(modes)), object], { error: "string or object" }),
};

/** A key that must be present when `when` holds for the object around it (a tool's schema, a named choice). */
export function requiredWhen<Value extends Json>(key: string, when: (value: Value) => boolean) {
  return (value: Value, context: z.RefinementCtx) => {
    if (value[key] === undefined && when(value))
      context.addIssue({ code: "invalid_type", expected: "nonoptional", path: [key], message: "required" });
  };
}

/** An object checked by the schema its `type` names (`untyped` when it has none); other types pass as they are. */
export function checkedByType(cases: Record<string, ZodType>, untyped?: ZodType) {
  return field.object({ type: field.string().optional() }).superRefine((value, context) => {
    const schema = value.type === undefined ? untyped : cases[value.type];
    // Issues found by the inner schema, re-raised at their paths inside this object.
    for (const issue of schema?.safeParse(value).error?.issues ?? [])
      context.addIssue(issue as z.core.$ZodRawIssue);
  });
}

type Path = Array<string | number>;

/** The first thing wrong with a request, in terms each dialect words its own way. */
export type Problem =
  | { kind: "missing"; path: Path }
  | { kind: "type"; path: Path; expected: Expected; value: unknown }
  | { kind: "value"; path: Path; allowed: readonly unknown[]; value: unknown }
  | { kind: "minimum"; path: Path; minimum: number; value: unknown }
  | { kind: "rule"; path: Path; message: string };

function valueAt(body: unknown, path: Path): unknown {
  let value = body;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

type Issue = z.core.$ZodIssue;

function problemOf(issue: Issue, prefix: Path, body: unknown): Problem {
  const path = [...prefix, ...(issue.path as Path)];
  if (issue.code === "invalid_union") {
    // The branch whose type the value has says what is wrong with it (a list with a bad item, a
    // string that names no mode); when there is none, the value had neither type.
    const matching = issue.errors
      .map((errors) => errors[0])
      .find((first) => first && (first.path.length > 0 || first.code !== "invalid_type"));
    if (matching) return problemOf(matching, path, body);
  }
  const value = valueAt(body, path);
  switch (issue.code) {
    case "invalid_type":
    case "invalid_union":
      return value === undefined
        ? { kind: "missing", path }
        : { kind: "type", path, expected: issue.message as Expected, value };
    case "invalid_value":
      return { kind: "value", path, allowed: issue.values, value };
    case "too_small":
      return { kind: "minimum", path, minimum: Number(issue.minimum), value };
    default:
      return { kind: "rule", path, message: issue.message };
  }
}

/** The first problem `schema` finds in a request body, undefined when there is none. */
export function firstProblem(schema: ZodType, body: Json): Problem | undefined {
  const issue = schema.safeParse(body).error?.issues[0];
  return issue && problemOf(issue, [], body);
}
