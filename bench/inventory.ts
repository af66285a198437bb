// `rig models` over a generated tree of 1,000 sparse GGUF files that look 2–40 GB each (real
// headers: 8,000-token vocabularies, 99 tensors), 20 of them copied twice so duplicate detection
// runs. Compared in the same run with `find -name '*.gguf' -size +1M` over the same tree: the floor
// for just walking and stat-ing it. Target: the inventory under 2 s.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeModelGguf } from "../test/support/model-trees.ts";

const FILES = Number(process.env.FILES ?? 1000);
const RUNS = Number(process.env.RUNS ?? 5);
const main = fileURLToPath(new URL("../dist/main.mjs", import.meta.url));
const home = mkdtempSync(join(tmpdir(), "rig-bench-inventory-"));

const generated = Date.now();
for (let index = 0; index < FILES; index++) {
  const copy = index >= FILES - 20;
  const seed = copy ? index - (FILES - 20) : index;
  const dir = join(home, "models", `publisher-${seed % 25}`, `repo-${seed}${copy ? "-copy" : ""}`);
  mkdirSync(dir, { recursive: true });
  writeModelGguf(join(dir, `model-${seed}.Q4_K_M.gguf`), {
    name: `model ${seed}`,
    layers: 32,
    embedding: 512,
    vocab: 8000,
    tensorBytes: 20_000_000 + seed * 380_000,
  });
}
writeFileSync(join(home, "rig.yaml"), "paths: { models: [models], bin: bin }\n");
process.stderr.write(`generated ${FILES} files in ${Date.now() - generated} ms\n`);

function time(argv: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0]!, argv.slice(1), {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, RIG_HOME: home },
    maxBuffer: 64 << 20,
  });
  if (result.status !== 0) throw new Error(`${argv.join(" ")} exited ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const cases: Record<string, string[]> = {
  "find -name '*.gguf' -size +1M": ["find", join(home, "models"), "-name", "*.gguf", "-size", "+1M"],
  "rig models --json": [process.execPath, main, "models", "--json"],
  "rig models --dups --json": [process.execPath, main, "models", "--dups", "--json"],
};
const listed = JSON.parse(
  spawnSync(process.execPath, [main, "models", "--json"], {
    env: { ...process.env, RIG_HOME: home },
    maxBuffer: 64 << 20,
  }).stdout.toString(),
) as { size: number; duplicate_of: string | null }[];
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let run = 0; run < RUNS; run++)
  for (const [name, argv] of Object.entries(cases)) samples[name]!.push(time(argv));
const floor = median(samples[Object.keys(cases)[0]!]!);

const apparent = listed.reduce((sum, model) => sum + model.size, 0);
console.log("# Inventory speed\n");
console.log(
  `${FILES} sparse GGUF files, ${(apparent / 1e12).toFixed(1)} TB apparent, ${listed.filter((model) => model.duplicate_of).length} duplicate copies found; median of ${RUNS} cold runs.\n`,
);
console.log("| command | median ms | ratio to find |\n|---|---|---|");
for (const [name, values] of Object.entries(samples))
  console.log(`| ${name} | ${median(values).toFixed(0)} | ${(median(values) / floor).toFixed(1)} |`);
console.log(
  `\n${new Date().toISOString().slice(0, 10)}, node ${process.version}, target: rig models under 2000 ms`,
);
rmSync(home, { recursive: true, force: true });
