// The smoke test of a llama-server build and what rig does when a build dies in it. The real binary
// runs the smoke test itself; the SIGILL → rebuild decision runs on fake builds (scripts), so no test
// ever compiles llama.cpp.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import {
  type BuildProgress,
  type BuildSteps,
  buildLlamaServer,
  cachedLlamaServer,
  cachedRpcServer,
  llamaSourceDir,
} from "../../src/install/llama-cpp.ts";
import { smokeTest } from "../../src/install/llama-smoke.ts";
import { programsOf } from "../../src/install/llama-variants.ts";
import { llamaServer, tinyModel } from "../support/llama.ts";
import { SCRIPTED_UPSTREAM } from "../support/stack.ts";

const scratch = mkdtempSync(join(tmpdir(), "rig-smoke-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const SCRIPTS = {
  /** Dies as the AMX build did on a CPU that refuses its instructions. */
  sigill: "#!/bin/sh\nkill -ILL $$\n",
  /** Serves /health and streaming chats, like a build that runs. */
  healthy: `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(SCRIPTED_UPSTREAM)} "$@"\n`,
  /** Fails for a reason a rebuild would not fix. */
  broken: "#!/bin/sh\necho 'error: this build cannot load models'\nexit 3\n",
};

/** Fake machine steps: `compile` installs the script `build(options)` names; the CPU reports `flags`. */
function fakeMachine(build: (options: string[]) => keyof typeof SCRIPTS, flags: string[] = []) {
  const compiled: string[][] = [];
  const progress: string[] = [];
  const steps: BuildSteps = {
    async compile(_backend, options, target) {
      compiled.push(options);
      mkdirSync(dirname(target), { recursive: true });
      for (const program of programsOf(options)) {
        const path = join(dirname(target), program);
        writeFileSync(path, SCRIPTS[build(options)]);
        chmodSync(path, 0o755);
      }
    },
    source: async () => llamaSourceDir(),
    cpuFlags: () => new Set(flags),
  };
  const env = { ...process.env, RIG_CACHE: mkdtempSync(join(scratch, "cache-")) };
  const onProgress = (event: BuildProgress) => progress.push(event.message);
  return {
    steps,
    compiled,
    progress,
    env,
    onProgress,
    versionDir: join(env.RIG_CACHE, "llama.cpp", "3.21.1"),
  };
}

const withoutAmx = (options: string[]) => options.includes("-DGGML_AMX_TILE=OFF");

describe("the smoke test", () => {
  test("the llama-server rig built passes it: 8 concurrent streams on the tiny model, twice", async () => {
    const outcome = await smokeTest(llamaServer(), await tinyModel());
    assert.deepEqual(outcome, { passed: true });
  });

  test("a binary that dies by SIGILL fails it, named by its signal", async () => {
    const binary = join(scratch, "sigill");
    writeFileSync(binary, SCRIPTS.sigill);
    chmodSync(binary, 0o755);
    const outcome = await smokeTest(binary, "/nonexistent.gguf");
    assert.equal(outcome.passed, false);
    assert.equal(!outcome.passed && outcome.signal, "SIGILL");
    assert.equal(!outcome.passed && outcome.reason, "died by SIGILL");
  });
});

describe("a build that dies in its smoke test", () => {
  test("by SIGILL on a CPU reporting AMX: removed, rebuilt without AMX, saying so; the cache then finds the fixed build", async () => {
    const machine = fakeMachine(
      (options) => (withoutAmx(options) ? "healthy" : "sigill"),
      ["avx2", "amx_tile"],
    );
    const result = await buildLlamaServer("cpu", machine.onProgress, machine.env, machine.steps);
    assert.equal(result.path, join(machine.versionDir, "cpu-no-amx", "bin", "llama-server"));
    assert.equal(result.cached, false);
    assert.match(
      result.replaced ?? "",
      /^the cpu build died by SIGILL \(an instruction this CPU refuses\); rebuilt without AMX$/,
    );
    assert.ok(
      machine.progress.includes(
        "llama-server died by SIGILL, an instruction this CPU refuses: rebuilding without AMX",
      ),
      machine.progress.join("\n"),
    );
    assert.deepEqual(machine.compiled[0], []);
    assert.deepEqual(machine.compiled[1], [
      "-DGGML_AMX_TILE=OFF",
      "-DGGML_AMX_INT8=OFF",
      "-DGGML_AMX_BF16=OFF",
      "-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16",
      "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16",
    ]);
    assert.equal(
      existsSync(join(machine.versionDir, "cpu", "bin", "llama-server")),
      false,
      "the broken build is gone",
    );
    assert.match(
      readFileSync(join(machine.versionDir, "cpu", "build.json"), "utf8"),
      /"smoke":"died","reason":"died by SIGILL"/,
    );
    assert.equal(cachedLlamaServer("cpu", machine.env), result.path);

    const again = await buildLlamaServer("cpu", machine.onProgress, machine.env, machine.steps);
    assert.deepEqual(again, { path: result.path, cached: true, seconds: 0, replaced: undefined });
    assert.equal(machine.compiled.length, 2, "neither build is made again");
  });

  test("by SIGILL on a CPU without AMX: rebuilt for AVX2 (GGML_NATIVE=OFF)", async () => {
    const machine = fakeMachine((options) => (options.includes("-DGGML_NATIVE=OFF") ? "healthy" : "sigill"));
    const result = await buildLlamaServer("cpu", machine.onProgress, machine.env, machine.steps);
    assert.equal(result.path, join(machine.versionDir, "cpu-portable", "bin", "llama-server"));
    assert.deepEqual(machine.compiled, [[], ["-DGGML_NATIVE=OFF"]]);
    assert.match(result.replaced ?? "", /rebuilt without the instruction sets beyond AVX2/);
  });

  test("for any other reason: the install fails with the server's last lines, and nothing is rebuilt", async () => {
    const machine = fakeMachine(() => "broken");
    await assert.rejects(
      buildLlamaServer("cpu", machine.onProgress, machine.env, machine.steps),
      /llama-server \(.*\/cpu\/bin\/llama-server\) exited with code 3 in its smoke test \(8 concurrent streams on the tiny model\); last lines:\nerror: this build cannot load models/,
    );
    assert.equal(machine.compiled.length, 1);
    assert.ok(existsSync(join(machine.versionDir, "cpu", "bin", "llama-server")), "kept for a look");
  });

  test("a build made before smoke tests existed keeps its path, and is tested once", async () => {
    const machine = fakeMachine(() => "healthy");
    const legacy = join(machine.versionDir, "cpu", "bin", "llama-server");
    await machine.steps.compile("cpu", [], legacy, () => {});
    machine.compiled.length = 0;
    const first = await buildLlamaServer("cpu", machine.onProgress, machine.env, machine.steps);
    assert.deepEqual(first, { path: legacy, cached: true, seconds: first.seconds, replaced: undefined });
    assert.ok(
      machine.progress.some((message) => /8 concurrent streams on the tiny model, 2 times/.test(message)),
    );
    machine.progress.length = 0;
    await buildLlamaServer("cpu", machine.onProgress, machine.env, machine.steps);
    assert.deepEqual(machine.progress, [], "tested once");
    assert.deepEqual(machine.compiled, []);
  });
});

describe("a build with rpc-server (`rig install llama.cpp --rpc`)", () => {
  test("installs llama-server and rpc-server side by side in <backend>-rpc, tested once", async () => {
    const machine = fakeMachine(() => "healthy");
    const result = await buildLlamaServer(
      { backend: "cpu", rpc: true },
      machine.onProgress,
      machine.env,
      machine.steps,
    );
    const bin = join(machine.versionDir, "cpu-rpc", "bin");
    assert.equal(result.path, join(bin, "llama-server"));
    assert.equal(result.rpcServer, join(bin, "rpc-server"));
    assert.deepEqual(machine.compiled, [["-DGGML_RPC=ON"]]);
    assert.equal(cachedRpcServer("cpu", machine.env), join(bin, "rpc-server"));
    assert.match(readFileSync(join(machine.versionDir, "cpu-rpc", "build.json"), "utf8"), /"smoke":"passed"/);
  });

  test("is a superset: a plain install reuses it instead of compiling, and finds it as llama-server", async () => {
    const machine = fakeMachine(() => "healthy");
    const rpc = await buildLlamaServer(
      { backend: "cpu", rpc: true },
      machine.onProgress,
      machine.env,
      machine.steps,
    );
    const plain = await buildLlamaServer("cpu", machine.onProgress, machine.env, machine.steps);
    assert.deepEqual(plain, { ...rpc, cached: true, seconds: plain.seconds });
    assert.equal(machine.compiled.length, 1, "nothing compiled for the plain install");
    assert.equal(cachedLlamaServer("cpu", machine.env), rpc.path);
  });

  test("a plain build does not serve --rpc: rpc-server is compiled then, and the plain build stays first for plain llama-server", async () => {
    const machine = fakeMachine(() => "healthy");
    const plain = await buildLlamaServer("cpu", machine.onProgress, machine.env, machine.steps);
    assert.equal(cachedRpcServer("cpu", machine.env), undefined);
    const rpc = await buildLlamaServer(
      { backend: "cpu", rpc: true },
      machine.onProgress,
      machine.env,
      machine.steps,
    );
    assert.equal(rpc.cached, false);
    assert.deepEqual(machine.compiled, [[], ["-DGGML_RPC=ON"]]);
    assert.equal(cachedLlamaServer("cpu", machine.env), plain.path);
  });

  test("dying by SIGILL removes both programs and rebuilds both without AMX", async () => {
    const machine = fakeMachine(
      (options) => (withoutAmx(options) ? "healthy" : "sigill"),
      ["avx2", "amx_tile"],
    );
    const result = await buildLlamaServer(
      { backend: "cpu", rpc: true },
      machine.onProgress,
      machine.env,
      machine.steps,
    );
    assert.equal(result.rpcServer, join(machine.versionDir, "cpu-rpc-no-amx", "bin", "rpc-server"));
    assert.equal(machine.compiled[1]?.[0], "-DGGML_RPC=ON");
    assert.ok(withoutAmx(machine.compiled[1]!));
    for (const program of ["llama-server", "rpc-server"])
      assert.equal(
        existsSync(join(machine.versionDir, "cpu-rpc", "bin", program)),
        false,
        `${program} is gone`,
      );
  });
});
