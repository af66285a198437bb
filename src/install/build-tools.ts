import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive } from "../system/process.ts";
import { which } from "../system/which.ts";

// The tools a llama.cpp build runs, how one is run (its last lines kept for the error), and the lock
// that keeps two builds on one machine from interleaving.

const TOOLS: Array<{ names: string[]; install: string }> = [
  { names: ["cmake"], install: "cmake (Debian/Ubuntu: apt-get install cmake; macOS: brew install cmake)" },
  {
    names: ["c++", "g++", "clang++"],
    install: "a C++ compiler (Debian/Ubuntu: apt-get install g++; macOS: xcode-select --install)",
  },
  { names: ["git"], install: "git (Debian/Ubuntu: apt-get install git)" },
  { names: ["tar"], install: "tar" },
  { names: ["npm"], install: "npm (it comes with Node.js)" },
];

export function missingBuildTools(env: NodeJS.ProcessEnv = process.env): string[] {
  return TOOLS.filter((tool) => !tool.names.some((name) => which(name, env))).map((tool) => tool.install);
}

/**
 * Runs a tool to its end, passing each line it prints to `onLine`; a failure carries its last lines,
 * and a tool that cannot be started (not on PATH) says so by name.
 */
export function runTool(
  argv: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {},
): Promise<void> {
  const { cwd, env, onLine } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        onLine?.(line);
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (error) => reject(new Error(`could not run ${argv[0]}: ${error.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${argv.join(" ")} failed (exit ${code}):\n${tail.join("\n")}`));
    });
  });
}

/** Holds a directory lock so that two builds on one machine never interleave; a dead holder's lock is taken over. */
export async function withLock<T>(lockDir: string, work: () => Promise<T>): Promise<T> {
  const pidFile = join(lockDir, "pid");
  for (;;) {
    try {
      mkdirSync(lockDir, { recursive: false });
      writeFileSync(pidFile, String(process.pid));
      break;
    } catch {
      const holder = Number(existsSync(pidFile) ? readFileSync(pidFile, "utf8") : Number.NaN);
      if (!Number.isFinite(holder) || !isAlive(holder)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
