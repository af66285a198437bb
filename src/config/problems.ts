import { relative } from "node:path";

/** A place in the config as keys and list indexes, e.g. `["servers", "qwen", "args", 2]`. */
export type KeyPath = readonly (string | number)[];

export interface SourcePosition {
  file: string;
  line: number;
  col: number;
}

export interface Problem {
  level: "error" | "warning";
  code: string;
  message: string;
  where?: SourcePosition;
  /** Dotted key path in the config, when the problem is about one. */
  path?: string;
}

export function formatWhere(where: SourcePosition, cwd = process.cwd()): string {
  const rel = relative(cwd, where.file);
  const shown = rel && !rel.startsWith("..") && rel.length < where.file.length ? rel : where.file;
  return where.line ? `${shown}:${where.line}:${where.col}` : shown;
}

export function formatProblem(problem: Problem): string {
  const where = problem.where ? `${formatWhere(problem.where)}: ` : "";
  const path = problem.path ? `${problem.path}: ` : "";
  return `${where}${problem.level}: ${path}${problem.message}`;
}

/** A config that cannot be used; carries every problem found, not only the first. */
export class ConfigError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
  }
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The candidate closest to `input`, if it is close enough to be a plausible typo. */
/** Longer input gets no suggestion: the edit distance is quadratic, and a name that long is no typo. */
const SUGGEST_MAX_LENGTH = 128;

export function nearest(input: string, candidates: Iterable<string>): string | undefined {
  if (input.length > SUGGEST_MAX_LENGTH) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(input.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(input.length / 3)) ? best : undefined;
}

export function didYouMean(input: string, candidates: Iterable<string>): string {
  const match = nearest(input, candidates);
  return match ? `; did you mean \`${match}\`?` : "";
}
