import { readFileSync } from "node:fs";
import { globSync } from "tinyglobby";
import {
  type Document,
  isCollection,
  isMap,
  isScalar,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from "yaml";
import type { ZodType } from "zod";
import { expandTilde, type HomePaths } from "./home.ts";
import {
  ConfigError,
  didYouMean,
  type KeyPath,
  nearest,
  type Problem,
  type SourcePosition,
} from "./problems.ts";
import { configSchema, MERGED_SECTIONS, type RawConfig } from "./schema.ts";

/** What a person did to get the YAML errors that say least about it (the yaml package's codes). */
const YAML_HINTS: Partial<Record<string, string>> = {
  BAD_INDENT: "YAML nests by indentation; line this key up with the keys beside it",
  BLOCK_AS_IMPLICIT_KEY: "a key indented less than the keys beside it, or a missing space after a colon",
  MULTILINE_IMPLICIT_KEY: "a key indented less than the keys beside it, or a missing colon",
  TAB_AS_INDENT: "indent with spaces",
};

// The heavy half of the config layer (YAML with positions, schema validation): loaded only when the
// validated-config cache misses or when positions are needed.

/** The validated config as written, with every file read and its exact text (the cache is keyed on them). */
export interface Parsed {
  raw: RawConfig;
  files: string[];
  texts: string[];
  /** Values that came from `${env:NAME}`, each with the reference that produced it. */
  expanded: Map<string, string>;
  where(path: KeyPath): SourcePosition;
}

interface ParsedFile {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

const ENV_REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function position(parsed: ParsedFile, offset: number): SourcePosition {
  const { line, col } = parsed.lines.linePos(offset);
  return { file: parsed.file, line, col };
}

function readSource(file: string, problems: Problem[]): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    problems.push({
      level: "error",
      code: "config-unreadable",
      message: `cannot read ${file}: ${(error as Error).message}`,
    });
    return undefined;
  }
}

/** Parses one YAML file and expands `${env:NAME}` in its scalars, reporting problems with positions. */
function parseSource(
  file: string,
  text: string,
  env: NodeJS.ProcessEnv,
  problems: Problem[],
  expanded: Map<string, string>,
): ParsedFile | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const parsed = { file, doc, lines };
  // The first YAML error is the mistake; those after it mostly follow from it (one line indented
  // wrong reads as three errors), so they are counted, not listed.
  const [first, ...rest] = doc.errors;
  if (first) {
    const hint = YAML_HINTS[first.code];
    const more = rest.length
      ? ` (${rest.length} more YAML error${rest.length > 1 ? "s" : ""} may follow from it)`
      : "";
    problems.push({
      level: "error",
      code: "yaml-syntax",
      message: `${first.message.split("\n")[0]!}${hint ? `: ${hint}` : ""}${more}`,
      where: position(parsed, first.pos[0]),
    });
  }
  if (doc.errors.length > 0) return undefined;
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value !== "string" || !node.value.includes("${env:")) return;
      node.value = node.value.replace(ENV_REFERENCE, (whole, name: string, fallback: string | undefined) => {
        const value = env[name];
        if (value !== undefined && value !== "") {
          expanded.set(value, `\${env:${name}}`);
          return value;
        }
        if (fallback !== undefined) return fallback;
        problems.push({
          level: "error",
          code: "env-unset",
          message: `environment variable ${name} is not set (export it, or write \${env:${name}:-default})`,
          where: position(parsed, node.range?.[0] ?? 0),
        });
        return whole;
      });
    },
  });
  return parsed;
}

function keyPosition(
  parsed: ParsedFile,
  map: unknown,
  key: string | number | undefined,
): SourcePosition | undefined {
  if (key === undefined || !isMap(map)) return undefined;
  const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
  return pair && isScalar(pair.key) && pair.key.range ? position(parsed, pair.key.range[0]) : undefined;
}

/**
 * Where a key path was written: a scalar's value, a mapping's or list's key (`servers.a` points at
 * `a:`), or `keyOf` inside a mapping. A path that is not written points at its nearest written parent.
 */
function locate(parsed: ParsedFile, path: KeyPath, keyOf?: string): SourcePosition {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = parsed.doc.getIn(path.slice(0, depth), true) as Node | undefined;
    if (!node?.range) continue;
    const childKey = depth === path.length ? keyOf : path[depth];
    const inside = keyPosition(parsed, node, childKey);
    if (inside) return inside;
    if (depth === path.length && depth > 0 && isCollection(node)) {
      const own = keyPosition(parsed, parsed.doc.getIn(path.slice(0, depth - 1), true), path[depth - 1]);
      if (own) return own;
    }
    return position(parsed, node.range[0]);
  }
  return { file: parsed.file, line: 1, col: 1 };
}

/** Keys the schema accepts at a path, for "did you mean" hints. */
function knownKeysAt(schema: ZodType, path: KeyPath): string[] {
  // biome-ignore lint/suspicious/noExplicitAny: walking zod's internal definition tree
  let def: any = schema._zod.def;
  const unwrap = () => {
    while (["default", "optional", "nullable", "pipe", "prefault"].includes(def.type)) {
      def = (def.innerType ?? def.in)._zod.def;
    }
  };
  unwrap();
  for (const segment of path) {
    if (def.type === "object") def = def.shape[segment]?._zod.def;
    else if (def.type === "record") def = def.valueType._zod.def;
    else if (def.type === "array") def = def.element._zod.def;
    else return [];
    if (!def) return [];
    unwrap();
  }
  return def.type === "object" ? Object.keys(def.shape) : [];
}

export function parseConfig(home: HomePaths, env: NodeJS.ProcessEnv, text: string | undefined): Parsed {
  const problems: Problem[] = [];
  const expanded = new Map<string, string>();
  const mainText = text ?? readSource(home.config, problems);
  const mainParsed =
    mainText === undefined ? undefined : parseSource(home.config, mainText, env, problems, expanded);
  if (!mainParsed) throw new ConfigError(problems);

  const merged = (mainParsed.doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof merged !== "object" || Array.isArray(merged)) {
    throw new ConfigError([
      {
        level: "error",
        code: "config-shape",
        message: "rig.yaml must be a mapping of keys",
        where: locate(mainParsed, []),
      },
    ]);
  }
  for (const [key, value] of Object.entries(merged)) if (value === null) delete merged[key];
  const origins = new Map<string, ParsedFile>();
  const originKey = (section: string, name: string) => `${section}\u0000${name}`;
  for (const section of MERGED_SECTIONS) {
    const entries = merged[section];
    if (entries && typeof entries === "object") {
      for (const entryName of Object.keys(entries)) origins.set(originKey(section, entryName), mainParsed);
    }
  }

  const files = [mainParsed.file];
  const texts = [mainText!];
  const includes = Array.isArray(merged.include)
    ? merged.include.filter((item) => typeof item === "string")
    : [];
  for (const pattern of includes) {
    const matches = globSync(expandTilde(pattern), { cwd: home.root, absolute: true }).sort();
    if (matches.length === 0 && !/[*?[{]/.test(pattern)) {
      problems.push({
        level: "error",
        code: "include-missing",
        message: `included file ${pattern} does not exist`,
        where: locate(mainParsed, ["include", includes.indexOf(pattern)]),
      });
    }
    for (const file of matches) {
      const includeText = readSource(file, problems);
      const parsed =
        includeText === undefined ? undefined : parseSource(file, includeText, env, problems, expanded);
      if (!parsed) continue;
      files.push(file);
      texts.push(includeText!);
      const content = (parsed.doc.toJS() ?? {}) as Record<string, unknown>;
      for (const [section, entries] of Object.entries(content)) {
        if (!(MERGED_SECTIONS as readonly string[]).includes(section)) {
          problems.push({
            level: "error",
            code: "include-section",
            message: `an included file may only define ${MERGED_SECTIONS.join(", ")}; move \`${section}\` to rig.yaml`,
            where: locate(parsed, [], section),
          });
          continue;
        }
        if (!entries || typeof entries !== "object") continue;
        merged[section] ??= {};
        const target = merged[section] as Record<string, unknown>;
        for (const [entryName, value] of Object.entries(entries)) {
          const earlier = origins.get(originKey(section, entryName));
          if (earlier) {
            const first = locate(earlier, [section, entryName]);
            const second = locate(parsed, [section, entryName]);
            problems.push({
              level: "error",
              code: "duplicate-name",
              message: `${section}.${entryName} is defined twice: here and at ${first.file}:${first.line}:${first.col}`,
              where: second,
            });
            continue;
          }
          origins.set(originKey(section, entryName), parsed);
          target[entryName] = value;
        }
      }
    }
  }

  const fileFor = (path: KeyPath): ParsedFile => {
    const [section, entryName] = path;
    return (
      (typeof section === "string" &&
        typeof entryName === "string" &&
        origins.get(originKey(section, entryName))) ||
      mainParsed
    );
  };
  const where = (path: KeyPath, keyOf?: string) => locate(fileFor(path), path, keyOf);

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    // A misspelt key also makes its correct spelling "missing"; report the typo once, with the fix.
    const suggested = new Set<string>();
    for (const issue of result.error.issues) {
      if (issue.code !== "unrecognized_keys") continue;
      for (const key of issue.keys) {
        const suggestion = nearest(key, knownKeysAt(configSchema, issue.path as KeyPath));
        if (suggestion) suggested.add([...issue.path, suggestion].join("."));
        problems.push({
          level: "error",
          code: "unknown-key",
          message: `unknown key \`${key}\`${suggestion ? `; did you mean \`${suggestion}\`?` : ""}`,
          path: [...issue.path, key].join("."),
          where: where(issue.path as KeyPath, key),
        });
      }
    }
    // An unset ${env:…} also makes its value the wrong type: the unset variable is the one problem.
    const spot = (at: SourcePosition | undefined) => at && `${at.file}:${at.line}:${at.col}`;
    const unset = new Set(
      problems.filter((problem) => problem.code === "env-unset").map((p) => spot(p.where)),
    );
    for (const issue of result.error.issues) {
      if (issue.code === "unrecognized_keys") continue;
      const path = issue.path as KeyPath;
      if (suggested.has(path.join("."))) continue;
      if (unset.has(spot(where(path)))) continue;
      let message = issue.message;
      if (issue.code === "invalid_value" && "values" in issue) {
        const written = path.reduce<unknown>(
          (value, key) => (value as Record<string, unknown>)?.[key],
          merged,
        );
        message = `\`${String(written)}\` is not one of ${issue.values.map(String).join(", ")}${didYouMean(String(written), issue.values.map(String))}`;
      } else if (issue.code === "invalid_type") {
        message = `expected ${issue.expected}${path.length ? "" : " mapping"}`;
      }
      problems.push({
        level: "error",
        code: "invalid-value",
        message,
        path: path.join("."),
        where: where(path),
      });
    }
    throw new ConfigError(problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return { raw: result.data, files, texts, expanded, where: (path) => where(path) };
}
