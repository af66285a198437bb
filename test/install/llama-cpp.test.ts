import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { missingBuildTools } from "../../src/install/build-tools.ts";
import { rig, rigJson } from "../support/cli.ts";

test("rig install llama.cpp reuses its cache: a no-op that prints the binary", async () => {
  const started = Date.now();
  const result = await rigJson<{ path: string; cached: boolean; backend: string }>(["install", "llama.cpp"]);
  assert.equal(result.cached, true);
  assert.equal(result.backend, "cpu");
  // The tests install with --rpc (scripts/test.mjs), a superset a plain install reuses.
  assert.match(result.path, /llama\.cpp\/3\.21\.1\/cpu(-rpc)?(-no-amx|-portable)?\/bin\/llama-server$/);
  assert.ok(Date.now() - started < 10_000, "no rebuild");
  // The build directory is gone once installed, so a binary that runs is a statically linked one.
  const version = spawnSync(result.path, ["--version"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  assert.equal(version.status, 0, version.stderr);
  // llama-server prints its build info on stderr.
  assert.match(version.stderr, /^version: \d+\.\d+\.\d+\S* \(build \d+, commit \w+\)$/m);
  assert.match(version.stderr, /^built with .+ for .+$/m);
  const text = await rig(["install", "llama.cpp"]);
  assert.equal(text.stdout.trim(), result.path);
  assert.match(text.stderr, /already built/);
});

test("missing build tools are named with the package that provides them", async () => {
  assert.deepEqual(
    missingBuildTools({ PATH: "/nonexistent" }).map((tool) => tool.split(" ")[0]),
    ["cmake", "a", "git", "tar", "npm"],
  );
  const cache = mkdtempSync(join(tmpdir(), "rig-cache-"));
  const result = await rig(["install", "llama.cpp"], { env: { PATH: "/nonexistent", RIG_CACHE: cache } });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /cannot build llama-server: install cmake \(Debian\/Ubuntu: apt-get install cmake/,
  );
});

test("usage: one backend at a time, and only llama.cpp is built by rig", async () => {
  assert.equal((await rig(["install", "llama.cpp", "--cuda", "--vulkan"])).code, 2);
  const other = await rig(["install", "vllm"]);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /installed with its own installer/);
});

test("rig install llama.cpp --rpc: rpc-server beside llama-server, both from the cache", async () => {
  const result = await rigJson<{ path: string; rpcServer: string; cached: boolean; rpc: boolean }>([
    "install",
    "llama.cpp",
    "--rpc",
  ]);
  assert.equal(result.cached, true);
  assert.equal(result.rpc, true);
  assert.match(result.rpcServer, /llama\.cpp\/3\.21\.1\/cpu-rpc(-no-amx|-portable)?\/bin\/rpc-server$/);
  assert.equal(dirname(result.rpcServer), dirname(result.path));
  const help = spawnSync(result.rpcServer, ["--help"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  assert.match(help.stderr, /--host HOST/);
  const text = await rig(["install", "llama.cpp", "--rpc"]);
  assert.deepEqual(text.stdout.trim().split("\n"), [result.path, result.rpcServer]);
  const misplaced = await rig(["install", "claude-code", "--rpc"]);
  assert.equal(misplaced.code, 2);
  assert.match(misplaced.stderr, /--rpc builds llama\.cpp's rpc-server/);
});
