import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive } from "../system/process.ts";
import { which } from "../system/which.ts";

/** llama.cpp comes from the source node-llama-cpp ships as a git bundle, so the npm registry is all a build needs. */
export const LLAMA_SOURCE_PACKAGE = "node-llama-cpp";
export const LLAMA_SOURCE_VERSION = "3.21.1";

export const BACKENDS = {
  cpu: [],
  cuda: ["-DGGML_CUDA=ON"],
  vulkan: ["-DGGML_VULKAN=ON"],
  metal: ["-DGGML_METAL=ON"],
} as const satisfies Record<string, string[]>;
export type Backend = keyof typeof BACKENDS;

export type BuildProgress =
  | { phase: "fetch" | "unpack" | "configure" | "install"; message: string }
  | { phase: "compile"; percent: number; message: string };

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.RIG_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "rig");
}

function versionDir(env: NodeJS.ProcessEnv): string {
  return join(cacheRoot(env), "llama.cpp", LLAMA_SOURCE_VERSION);
}

/** The llama.cpp source checkout (kept: its vocabularies and chat templates make the tiny test model). */
export function llamaSourceDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(versionDir(env), "src");
}

export function llamaServerPath(backend: Backend = "cpu", env: NodeJS.ProcessEnv = process.env): string {
  return join(versionDir(env), backend, "bin", "llama-server");
}

export function cachedLlamaServer(
  backend: Backend = "cpu",
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const path = llamaServerPath(backend, env);
  return existsSync(path) ? path : undefined;
}

/** llama-server from PATH, else from rig's build cache. */
export function findLlamaServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return which("llama-server", env) ?? cachedLlamaServer("cpu", env);
}

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

function runTool(argv: string[], cwd: string, onLine?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ["ignore", "pipe", "pipe"] });
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
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${argv.join(" ")} failed (exit ${code}):\n${tail.join("\n")}`));
    });
  });
}

/** Holds a directory lock so that two builds on one machine never interleave; a dead holder's lock is taken over. */
async function withLock<T>(lockDir: string, work: () => Promise<T>): Promise<T> {
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

/** Fetches node-llama-cpp's llama.cpp bundle through npm and checks it out into the cache (once per machine). */
export async function ensureLlamaSource(
  onProgress: (event: BuildProgress) => void = () => {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const source = llamaSourceDir(env);
  if (existsSync(join(source, "CMakeLists.txt"))) return source;
  mkdirSync(versionDir(env), { recursive: true });
  return withLock(`${source}.lock`, async () => {
    if (existsSync(join(source, "CMakeLists.txt"))) return source;
    const missing = missingBuildTools(env).filter(
      (tool) => !tool.startsWith("cmake") && !tool.startsWith("a C++"),
    );
    if (missing.length) throw new Error(`missing tools to fetch llama.cpp: ${missing.join("; ")}`);
    const work = mkdtempSync(join(tmpdir(), "rig-llama-"));
    try {
      onProgress({ phase: "fetch", message: `npm pack ${LLAMA_SOURCE_PACKAGE}@${LLAMA_SOURCE_VERSION}` });
      await runTool(["npm", "pack", `${LLAMA_SOURCE_PACKAGE}@${LLAMA_SOURCE_VERSION}`, "--silent"], work);
      const tarball = join(work, `${LLAMA_SOURCE_PACKAGE}-${LLAMA_SOURCE_VERSION}.tgz`);
      onProgress({ phase: "unpack", message: "extracting the llama.cpp git bundle" });
      await runTool(["tar", "xzf", tarball, "package/llama/gitRelease.bundle"], work);
      const partial = `${source}.partial`;
      rmSync(partial, { recursive: true, force: true });
      await runTool(
        ["git", "clone", "--quiet", join(work, "package/llama/gitRelease.bundle"), partial],
        work,
      );
      rmSync(join(partial, ".git"), { recursive: true, force: true });
      renameSync(partial, source);
      return source;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

export interface BuildResult {
  path: string;
  cached: boolean;
  seconds: number;
}

/** Builds llama-server into the cache keyed by source version and backend; a no-op when it is already there. */
export async function buildLlamaServer(
  backend: Backend = "cpu",
  onProgress: (event: BuildProgress) => void = () => {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<BuildResult> {
  const started = Date.now();
  const target = llamaServerPath(backend, env);
  if (existsSync(target)) return { path: target, cached: true, seconds: 0 };
  const missing = missingBuildTools(env);
  if (missing.length) throw new Error(`cannot build llama-server: install ${missing.join("; ")}`);
  const source = await ensureLlamaSource(onProgress, env);
  const backendDir = join(versionDir(env), backend);
  mkdirSync(backendDir, { recursive: true });
  await withLock(join(backendDir, "build.lock"), async () => {
    if (existsSync(target)) return;
    const build = join(backendDir, "build");
    onProgress({ phase: "configure", message: `cmake (${backend})` });
    await runTool(
      [
        "cmake",
        "-S",
        source,
        "-B",
        build,
        "-DCMAKE_BUILD_TYPE=Release",
        "-DBUILD_SHARED_LIBS=OFF",
        "-DLLAMA_CURL=OFF",
        "-DLLAMA_OPENSSL=OFF",
        "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF",
        ...BACKENDS[backend],
      ],
      source,
    );
    const jobs = String(Math.max(1, availableParallelism()));
    await runTool(["cmake", "--build", build, "--target", "llama-server", "-j", jobs], source, (line) => {
      const match = /^\[\s*(\d+)%\]/.exec(line);
      if (match)
        onProgress({
          phase: "compile",
          percent: Number(match[1]),
          message: line.replace(/^\[\s*\d+%\]\s*/, ""),
        });
    });
    onProgress({ phase: "install", message: target });
    mkdirSync(join(backendDir, "bin"), { recursive: true });
    copyFileSync(join(build, "bin", "llama-server"), `${target}.partial`);
    renameSync(`${target}.partial`, target);
    rmSync(build, { recursive: true, force: true });
  });
  return { path: target, cached: false, seconds: Math.round((Date.now() - started) / 1000) };
}
