// Runs every benchmark and keeps its last results in bench/results/<name>.md.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const only = process.argv.slice(2);
for (const name of ["startup", "inventory", "gateway", "dialects", "scheduling"]) {
  if (only.length && !only.includes(name)) continue;
  process.stderr.write(`bench/${name}.ts\n`);
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL(`./${name}.ts`, import.meta.url))],
    {
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 16 << 20,
    },
  );
  if (result.status !== 0) {
    process.stderr.write(`bench/${name}.ts failed (exit ${result.status})\n`);
    process.exitCode = 1;
    continue;
  }
  writeFileSync(fileURLToPath(new URL(`./results/${name}.md`, import.meta.url)), result.stdout);
  process.stdout.write(result.stdout);
}
