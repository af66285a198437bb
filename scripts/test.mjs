// `npm test`: makes sure the real parts exist (llama-server and rpc-server built once per machine into rig's cache,
// the agent CLIs installed pinned outside the repo), then runs every test/**/*.test.ts with node's
// test runner, one file at a time: many tests start real llama-server processes on two cores.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { globSync } from "tinyglobby";

const root = fileURLToPath(new URL("..", import.meta.url));
const run = (argv, what) => {
  const result = spawnSync(argv[0], argv.slice(1), { stdio: "inherit", cwd: root });
  if (result.status !== 0) {
    console.error(`${what} failed (exit ${result.status})`);
    process.exit(result.status ?? 1);
  }
};

// One build with rpc-server (GGML_RPC=ON) serves every test: plain llama-server ones reuse it.
run(
  [process.execPath, "dist/main.mjs", "install", "llama.cpp", "--rpc"],
  "building llama-server and rpc-server",
);
run([process.execPath, "scripts/install-agents.mjs"], "installing the agent CLIs");

const filters = process.argv.slice(2);
const files = globSync("test/**/*.test.ts", { cwd: root })
  .sort()
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(2);
}
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
  { stdio: "inherit", cwd: root },
);

// rig promises no orphaned processes: a daemon or server still running from a test home after the
// tests end fails the run (and is stopped).
const orphans = [];
for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
  let environ;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
  } catch {
    continue;
  }
  const home = environ.find((entry) => entry.startsWith("RIG_HOME="))?.slice(9);
  if (home?.startsWith(join(tmpdir(), "rig-")) && environ.includes("RIG_DAEMON=1")) {
    orphans.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ")}`);
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {}
  }
}
if (orphans.length) {
  console.error(`processes left running by the tests (now killed):\n${orphans.join("\n")}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
