import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";

export const DEFAULT_HOME = "~/local-llm";

export interface HomePaths {
  root: string;
  config: string;
  docs: string;
  logs: string;
  state: string;
}

export function expandTilde(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return path;
}

/** Resolves a path the way rig.yaml means it: `~` is the user's home, relative is relative to RIG_HOME. */
export function resolveConfigPath(path: string, home: string): string {
  const expanded = expandTilde(path);
  return isAbsolute(expanded) ? expanded : resolve(home, expanded);
}

/**
 * A path as rig.yaml would name it, the inverse of resolveConfigPath: relative inside the rig home,
 * `~/…` inside the user's home, absolute elsewhere.
 */
export function configPathOf(path: string, home: string): string {
  if (path === home || path.startsWith(`${home}/`)) return relative(home, path) || ".";
  const user = homedir();
  return path.startsWith(`${user}/`) ? `~${path.slice(user.length)}` : path;
}

/**
 * The home a command means: `--home`, else `RIG_HOME`, else the current folder when it holds a
 * rig.yaml (an agent working in a home runs `rig ps` there, as its AGENTS.md says), else ~/local-llm.
 */
export function homePaths(
  flag?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): HomePaths {
  const here = existsSync(join(cwd, "rig.yaml")) ? cwd : undefined;
  const root = resolve(expandTilde(flag || env.RIG_HOME || here || DEFAULT_HOME));
  return {
    root,
    config: join(root, "rig.yaml"),
    docs: join(root, "docs"),
    logs: join(root, "logs"),
    state: join(root, "state"),
  };
}

/** The file in a home's state folder holding the key its runtimes' own ports require. */
export const RUNTIME_KEY_FILE = "runtime.key";
