import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Absolute path of an executable (a name on PATH or a path), or undefined. */
export function which(executable: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (executable.includes("/"))
    return isAbsolute(executable) && isExecutableFile(executable) ? executable : undefined;
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, executable);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** "`x` not found on PATH; install it or set KEY": the words for any executable rig cannot find. */
export function notFoundMessage(what: string, executable: string, key: string, hint?: string): string {
  const where = executable.includes("/") ? "" : " on PATH";
  return `${what}: \`${executable}\` not found${where}; install it or set ${key}${hint ? `; ${hint}` : ""}`;
}
