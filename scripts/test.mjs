// Runs every test/**/*.test.ts with node's test runner (TypeScript through tsx), one file at a time:
// many tests start real llama-server processes, and two cores are better spent on one of them.
import { spawnSync } from "node:child_process";
import { globSync } from "tinyglobby";

const filters = process.argv.slice(2);
const files = globSync("test/**/*.test.ts")
  .sort()
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(2);
}
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
  {
    stdio: "inherit",
  },
);
process.exit(result.status ?? 1);
