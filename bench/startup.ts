// Cold start of the CLI against bare node, in the same run: `rig --version` and `rig ls` (a real
// config with one server and one agent) each started N times, alternating with `node -e 0`.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const runs = Number(process.env.RUNS ?? 30);
const main = fileURLToPath(new URL("../dist/main.mjs", import.meta.url));
const home = mkdtempSync(join(tmpdir(), "rig-bench-"));
mkdirSync(join(home, "state"));
writeFileSync(
  join(home, "rig.yaml"),
  "servers:\n  qwen: { runtime: llama.cpp, model: models/qwen.gguf, context: 32768, aliases: [q] }\nagents:\n  claude-qwen: { harness: claude-code, server: qwen }\n",
);

function time(argv: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0]!, argv.slice(1), {
    stdio: "ignore",
    env: { ...process.env, RIG_HOME: home },
  });
  if (result.status !== 0) throw new Error(`${argv.join(" ")} exited ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const cases: Record<string, string[]> = {
  "node -e 0": [process.execPath, "-e", "0"],
  "rig --version": [process.execPath, main, "--version"],
  "rig ls": [process.execPath, main, "ls"],
  "rig ls --json": [process.execPath, main, "ls", "--json"],
};
time(cases["rig ls"]!);
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let run = 0; run < runs; run++)
  for (const [name, argv] of Object.entries(cases)) samples[name]!.push(time(argv));
const baseline = median(samples["node -e 0"]!);
const rows = Object.entries(samples).map(([name, values]) => ({
  name,
  median_ms: median(values),
  ratio: median(values) / baseline,
}));
console.log(`| command | median ms | ratio to node -e 0 |\n|---|---|---|`);
for (const row of rows)
  console.log(`| ${row.name} | ${row.median_ms.toFixed(1)} | ${row.ratio.toFixed(2)} |`);
console.log(`\n${runs} runs each, ${new Date().toISOString().slice(0, 10)}, node ${process.version}`);
