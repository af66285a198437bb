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
import { dirname, join } from "node:path";
import { writeTinyModel } from "../demo/tiny-model.ts";
import { llamaCpp } from "../runtimes/llama-cpp.ts";
import { which } from "../system/which.ts";
import { missingBuildTools, runTool, withLock } from "./build-tools.ts";
import { SMOKE_TEST, type SmokeOutcome, smokeTest } from "./llama-smoke.ts";

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
  | { phase: "fetch" | "unpack" | "configure" | "install" | "smoke-test"; message: string }
  | { phase: "compile"; percent: number; message: string };

const AMX_FLAGS = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16";

/**
 * One way to build llama-server for a backend. The cache keys builds by their options: the default
 * one keeps the plain backend folder (`3.21.1/cpu`), so builds made before variants existed are found.
 */
interface BuildVariant {
  key: string;
  /** cmake options beyond the backend's. */
  options: string[];
  /** What it leaves out, as the message that announces the rebuild says it. */
  leavesOut: string;
  /** Whether a SIGILL can be blamed on what it leaves out, on a CPU reporting these flags. */
  suspect(cpuFlags: ReadonlySet<string>): boolean;
}

/**
 * The builds tried in turn: for this CPU as it describes itself; without AMX (a CPU may report it and
 * still refuse its tile instructions once requests are batched); for ggml's non-native x86 baseline.
 */
function buildVariants(backend: Backend): BuildVariant[] {
  return [
    { key: backend, options: [], leavesOut: "nothing", suspect: () => false },
    {
      key: `${backend}-no-amx`,
      options: [
        "-DGGML_AMX_TILE=OFF",
        "-DGGML_AMX_INT8=OFF",
        "-DGGML_AMX_BF16=OFF",
        `-DCMAKE_C_FLAGS=${AMX_FLAGS}`,
        `-DCMAKE_CXX_FLAGS=${AMX_FLAGS}`,
      ],
      leavesOut: "AMX",
      suspect: (cpuFlags) => [...cpuFlags].some((flag) => flag.startsWith("amx")),
    },
    {
      key: `${backend}-portable`,
      options: ["-DGGML_NATIVE=OFF"],
      leavesOut: "the instruction sets beyond AVX2 (GGML_NATIVE=OFF)",
      suspect: () => true,
    },
  ];
}

/** What rig knows about a build in the cache: its smoke test passed, or it died and was removed. */
interface BuildRecord {
  options: string[];
  smoke: "passed" | "died";
  at: string;
  reason?: string;
}

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.RIG_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "rig");
}

function versionDir(env: NodeJS.ProcessEnv): string {
  return join(cacheRoot(env), llamaCpp.kind, LLAMA_SOURCE_VERSION);
}

/** The llama.cpp source checkout (kept: its vocabularies and chat templates make the tiny test model). */
export function llamaSourceDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(versionDir(env), "src");
}

function variantDir(variant: BuildVariant, env: NodeJS.ProcessEnv): string {
  return join(versionDir(env), variant.key);
}

function binaryOf(variant: BuildVariant, env: NodeJS.ProcessEnv): string {
  return join(variantDir(variant, env), "bin", "llama-server");
}

function readRecord(variant: BuildVariant, env: NodeJS.ProcessEnv): BuildRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(variantDir(variant, env), "build.json"), "utf8")) as BuildRecord;
  } catch {
    return undefined;
  }
}

function writeRecord(variant: BuildVariant, env: NodeJS.ProcessEnv, record: Omit<BuildRecord, "at">): void {
  const file = join(variantDir(variant, env), "build.json");
  writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify({ ...record, at: new Date().toISOString() }));
  renameSync(`${file}.${process.pid}.tmp`, file);
}

/** rig's build of llama-server for this backend: the first one in the cache that did not die in its smoke test. */
export function cachedLlamaServer(
  backend: Backend = "cpu",
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return buildVariants(backend)
    .filter((variant) => readRecord(variant, env)?.smoke !== "died")
    .map((variant) => binaryOf(variant, env))
    .find((path) => existsSync(path));
}

/** llama-server from PATH, else from rig's build cache. */
export function findLlamaServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return which("llama-server", env) ?? cachedLlamaServer("cpu", env);
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
  /** Nothing was compiled. */
  cached: boolean;
  seconds: number;
  /** Set when a build died in its smoke test and this one replaced it: what happened. */
  replaced?: string;
}

/** The steps of an install that touch the machine, apart so that tests can replace them. */
export interface BuildSteps {
  /** Compiles llama-server with these extra cmake options and installs it at `target`. */
  compile(
    backend: Backend,
    options: string[],
    target: string,
    onProgress: (event: BuildProgress) => void,
  ): Promise<void>;
  /** The llama.cpp checkout, whose vocabulary makes the smoke test's tiny model. */
  source(onProgress: (event: BuildProgress) => void): Promise<string>;
  /** The CPU's feature flags, which tell what a SIGILL points at. */
  cpuFlags(): ReadonlySet<string>;
}

/**
 * Builds llama-server into the cache, keyed by source version, backend and build options, and
 * smoke-tests it (the tiny model, 8 concurrent streams, twice) once. A build that dies by SIGILL
 * is removed and rebuilt without the instruction set to blame, saying so; any other failure of
 * the smoke test fails the install and keeps the build. A tested build is a no-op.
 */
export async function buildLlamaServer(
  backend: Backend = "cpu",
  onProgress: (event: BuildProgress) => void = () => {},
  env: NodeJS.ProcessEnv = process.env,
  steps: BuildSteps = machineSteps(env),
): Promise<BuildResult> {
  const started = Date.now();
  const variants = buildVariants(backend);
  let variant = variants.find((candidate) => readRecord(candidate, env)?.smoke !== "died");
  let compiled = false;
  let replaced: string | undefined;
  while (variant) {
    const target = binaryOf(variant, env);
    if (!existsSync(target)) {
      await steps.compile(backend, variant.options, target, onProgress);
      compiled = true;
    }
    const result = () => ({
      path: target,
      cached: !compiled,
      seconds: Math.round((Date.now() - started) / 1000),
      replaced,
    });
    if (readRecord(variant, env)?.smoke === "passed") return result();
    const outcome = await smoke(target, steps, onProgress, env);
    if (outcome.passed) {
      writeRecord(variant, env, { options: variant.options, smoke: "passed" });
      return result();
    }
    const failure = `llama-server (${target}) ${outcome.reason} in its smoke test (${SMOKE_TEST.streams} concurrent streams on the tiny model)`;
    if (outcome.signal !== "SIGILL") throw new Error(`${failure}; last lines:\n${outcome.tail.join("\n")}`);
    rmSync(target, { force: true });
    writeRecord(variant, env, { options: variant.options, smoke: "died", reason: outcome.reason });
    const failed = variant;
    variant = variants.slice(variants.indexOf(failed) + 1).find((next) => next.suspect(steps.cpuFlags()));
    if (!variant) throw new Error(`${failure}, and no build rig knows leaves out more`);
    replaced = `the ${failed.key} build died by SIGILL (an instruction this CPU refuses); rebuilt without ${variant.leavesOut}`;
    onProgress({
      phase: "smoke-test",
      message: `llama-server died by SIGILL, an instruction this CPU refuses: rebuilding without ${variant.leavesOut}`,
    });
  }
  throw new Error(`every ${backend} build died in its smoke test: remove ${versionDir(env)} to try again`);
}

/** Runs the smoke test on the tiny model, written once into the cache. */
async function smoke(
  binary: string,
  steps: BuildSteps,
  onProgress: (event: BuildProgress) => void,
  env: NodeJS.ProcessEnv,
): Promise<SmokeOutcome> {
  const model = join(versionDir(env), "smoke", "tiny.gguf");
  if (!existsSync(model)) {
    const source = await steps.source(onProgress);
    mkdirSync(join(versionDir(env), "smoke"), { recursive: true });
    writeTinyModel(source, `${model}.${process.pid}.partial`);
    renameSync(`${model}.${process.pid}.partial`, model);
  }
  onProgress({
    phase: "smoke-test",
    message: `${SMOKE_TEST.streams} concurrent streams on the tiny model, ${SMOKE_TEST.rounds} times`,
  });
  return smokeTest(binary, model);
}

function cpuFlags(): ReadonlySet<string> {
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
    return new Set(flags.trim().split(/\s+/));
  } catch {
    return new Set();
  }
}

function machineSteps(env: NodeJS.ProcessEnv): BuildSteps {
  return {
    compile: (backend, options, target, onProgress) => compile(backend, options, target, onProgress, env),
    source: (onProgress) => ensureLlamaSource(onProgress, env),
    cpuFlags,
  };
}

/** cmake configure and build, under a lock, installing the static binary at `target`. */
async function compile(
  backend: Backend,
  options: string[],
  target: string,
  onProgress: (event: BuildProgress) => void,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const missing = missingBuildTools(env);
  if (missing.length) throw new Error(`cannot build llama-server: install ${missing.join("; ")}`);
  const source = await ensureLlamaSource(onProgress, env);
  // target is <variant>/bin/llama-server; the build happens beside it.
  const buildRoot = dirname(dirname(target));
  mkdirSync(buildRoot, { recursive: true });
  await withLock(join(buildRoot, "build.lock"), async () => {
    if (existsSync(target)) return;
    const build = join(buildRoot, "build");
    onProgress({ phase: "configure", message: `cmake (${[backend, ...options].join(" ")})` });
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
        ...options,
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
    mkdirSync(join(buildRoot, "bin"), { recursive: true });
    copyFileSync(join(build, "bin", "llama-server"), `${target}.partial`);
    renameSync(`${target}.partial`, target);
    rmSync(build, { recursive: true, force: true });
  });
}
