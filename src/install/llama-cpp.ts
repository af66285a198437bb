import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { availableParallelism, homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { writeTinyModel } from "../demo/tiny-model.ts";
import { llamaCpp } from "../runtimes/llama-cpp.ts";
import { writeFileAtomic } from "../system/atomic-write.ts";
import { which } from "../system/which.ts";
import { missingBuildTools, runTool, withLock } from "./build-tools.ts";
import { SMOKE_TEST, type SmokeOutcome, smokeTest } from "./llama-smoke.ts";
import {
  BACKENDS,
  type Backend,
  type BuildChoice,
  type BuildVariant,
  buildVariants,
  CMAKE_TARGETS,
  programsOf,
} from "./llama-variants.ts";

export { BACKENDS, type Backend, type BuildChoice } from "./llama-variants.ts";

/** llama.cpp comes from the source node-llama-cpp ships as a git bundle, so the npm registry is all a build needs. */
const LLAMA_SOURCE_PACKAGE = "node-llama-cpp";
export const LLAMA_SOURCE_VERSION = "3.21.1";

export type BuildProgress =
  | { phase: "fetch" | "unpack" | "configure" | "install" | "smoke-test"; message: string }
  | { phase: "compile"; percent: number; message: string };

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

function binaryOf(variant: BuildVariant, env: NodeJS.ProcessEnv, program = "llama-server"): string {
  return join(variantDir(variant, env), "bin", program);
}

/** Whether every program the variant installs is there. */
function installed(variant: BuildVariant, env: NodeJS.ProcessEnv): boolean {
  return variant.programs.every((program) => existsSync(binaryOf(variant, env, program)));
}

function readRecord(variant: BuildVariant, env: NodeJS.ProcessEnv): BuildRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(variantDir(variant, env), "build.json"), "utf8")) as BuildRecord;
  } catch {
    return undefined;
  }
}

function writeRecord(variant: BuildVariant, env: NodeJS.ProcessEnv, record: Omit<BuildRecord, "at">): void {
  writeFileAtomic(
    join(variantDir(variant, env), "build.json"),
    JSON.stringify({ ...record, at: new Date().toISOString() }),
  );
}

/** A build's choice, from a backend alone (a build without rpc-server) or the whole choice. */
function choiceOf(choice: Backend | BuildChoice): BuildChoice {
  return typeof choice === "string" ? { backend: choice, rpc: false } : choice;
}

/**
 * The builds in the cache that did not die in their smoke test, best first. A build with rpc-server is
 * a superset of one without, so it serves a request for plain llama-server too (after the plain ones).
 */
function usableBuilds(choice: BuildChoice, env: NodeJS.ProcessEnv): BuildVariant[] {
  const candidates = choice.rpc
    ? buildVariants(choice)
    : [...buildVariants(choice), ...buildVariants({ ...choice, rpc: true })];
  return candidates.filter(
    (variant) => readRecord(variant, env)?.smoke !== "died" && installed(variant, env),
  );
}

/** rig's build of llama-server for this backend: the first one in the cache that did not die in its smoke test. */
export function cachedLlamaServer(
  choice: Backend | BuildChoice = "cpu",
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const [build] = usableBuilds(choiceOf(choice), env);
  return build && binaryOf(build, env);
}

/** rig's build of rpc-server, the llama.cpp worker that holds part of a model for a llama-server on another host. */
export function cachedRpcServer(
  backend: Backend = "cpu",
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const [build] = usableBuilds({ backend, rpc: true }, env);
  return build && binaryOf(build, env, "rpc-server");
}

/** llama-server from PATH, else from rig's build cache. */
export function findLlamaServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return which("llama-server", env) ?? cachedLlamaServer("cpu", env);
}

/** rpc-server from PATH (under either of its names), else from rig's build cache. */
export function findRpcServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return which("rpc-server", env) ?? which("ggml-rpc-server", env) ?? cachedRpcServer("cpu", env);
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
      await runTool(["npm", "pack", `${LLAMA_SOURCE_PACKAGE}@${LLAMA_SOURCE_VERSION}`, "--silent"], {
        cwd: work,
      });
      const tarball = join(work, `${LLAMA_SOURCE_PACKAGE}-${LLAMA_SOURCE_VERSION}.tgz`);
      onProgress({ phase: "unpack", message: "extracting the llama.cpp git bundle" });
      await runTool(["tar", "xzf", tarball, "package/llama/gitRelease.bundle"], { cwd: work });
      const partial = `${source}.partial`;
      rmSync(partial, { recursive: true, force: true });
      await runTool(["git", "clone", "--quiet", join(work, "package/llama/gitRelease.bundle"), partial], {
        cwd: work,
      });
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
  /** rpc-server beside it, for a build that has one. */
  rpcServer?: string;
  /** Nothing was compiled. */
  cached: boolean;
  seconds: number;
  /** Set when a build died in its smoke test and this one replaced it: what happened. */
  replaced?: string;
}

/** The steps of an install that touch the machine, apart so that tests can replace them. */
export interface BuildSteps {
  /**
   * Compiles llama-server with these extra cmake options and installs it at `target`, with the other
   * programs the options call for (`programsOf`: rpc-server) beside it.
   */
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
 * Builds llama-server (and rpc-server, when asked) into the cache, keyed by source version, backend
 * and build options, and smoke-tests llama-server (the tiny model, 8 concurrent streams, twice) once.
 * A build that dies by SIGILL is removed and rebuilt without the instruction set to blame, saying so;
 * any other failure of the smoke test fails the install and keeps the build. A tested build is a no-op, and so is asking
 * for plain llama-server when a tested build with rpc-server is there.
 */
export async function buildLlamaServer(
  choice: Backend | BuildChoice = "cpu",
  onProgress: (event: BuildProgress) => void = () => {},
  env: NodeJS.ProcessEnv = process.env,
  steps: BuildSteps = machineSteps(env),
): Promise<BuildResult> {
  const started = Date.now();
  const { backend, rpc } = choiceOf(choice);
  const variants = buildVariants({ backend, rpc });
  const superset = rpc
    ? undefined
    : usableBuilds({ backend, rpc }, env).find(
        (build) => build.programs.includes("rpc-server") && readRecord(build, env)?.smoke === "passed",
      );
  let variant = variants.find((candidate) => readRecord(candidate, env)?.smoke !== "died");
  if (superset && !(variant && installed(variant, env))) variant = superset;
  let compiled = false;
  let replaced: string | undefined;
  while (variant) {
    const target = binaryOf(variant, env);
    if (!installed(variant, env)) {
      await steps.compile(backend, variant.options, target, onProgress);
      compiled = true;
    }
    const built = variant;
    const result = (): BuildResult => ({
      path: target,
      ...(built.programs.includes("rpc-server") ? { rpcServer: binaryOf(built, env, "rpc-server") } : {}),
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
    for (const program of variant.programs) rmSync(binaryOf(variant, env, program), { force: true });
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

/** cmake configure and build, under a lock, installing the static binaries at `target` and beside it. */
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
    const programs = programsOf(options);
    const installedAt = (program: string) => join(buildRoot, "bin", program);
    if (programs.every((program) => existsSync(installedAt(program)))) return;
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
      { cwd: source },
    );
    const jobs = String(Math.max(1, availableParallelism()));
    const targets = programs.map((program) => CMAKE_TARGETS[program] ?? program);
    await runTool(["cmake", "--build", build, "--target", ...targets, "-j", jobs], {
      cwd: source,
      onLine: (line) => {
        const match = /^\[\s*(\d+)%\]/.exec(line);
        if (match)
          onProgress({
            phase: "compile",
            percent: Number(match[1]),
            message: line.replace(/^\[\s*\d+%\]\s*/, ""),
          });
      },
    });
    onProgress({ phase: "install", message: target });
    mkdirSync(join(buildRoot, "bin"), { recursive: true });
    // llama-server last: the build counts as installed once every program is there.
    for (const program of programs.toReversed()) {
      copyFileSync(join(build, "bin", CMAKE_TARGETS[program] ?? program), `${installedAt(program)}.partial`);
      renameSync(`${installedAt(program)}.partial`, installedAt(program));
    }
    rmSync(build, { recursive: true, force: true });
  });
}
