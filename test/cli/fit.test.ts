// `rig fit`: a context past the model's trained one is warned about, and the max-context line never
// reads as a limit the fit line contradicts.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fitLines } from "../../src/cli/fit.ts";
import { loadConfig } from "../../src/config/loader.ts";
import { budgetOf } from "../../src/memory/budget.ts";
import { fitReport } from "../../src/memory/fit.ts";
import { QWEN25_05B, realShapedModel } from "../support/model-trees.ts";

const GB = 1e9;

/** A Qwen2.5-0.5B-shaped server (trained for 32768 tokens) and a 64 GB RAM budget. */
async function qwenWith(args: string, ram = "64GB") {
  const model = await realShapedModel(QWEN25_05B);
  const root = mkdtempSync(join(tmpdir(), "rig-fit-cli-"));
  writeFileSync(
    join(root, "rig.yaml"),
    `memory: { ram: ${ram} }\nservers:\n  qwen: { runtime: llama.cpp, model: ${model}, args: [${args}] }\n`,
  );
  const config = await loadConfig({ home: root });
  const budget = budgetOf(config.memory, { ram: { total: 128 * GB }, gpus: [] });
  return { config, server: config.servers.qwen!, budget };
}

test("rig fit --context past the trained context: a warning names both, and max ctx says it stops at the trained context", async () => {
  const { config, server, budget } = await qwenWith("--parallel, 1");
  const report = fitReport(config, server, budget, {}, { context: 200_000 });
  assert.equal(report.fits, true, "200k tokens of KV fit 64 GB");
  assert.equal(report.trained_context, 32768);
  assert.equal(report.max_context, 32768);
  assert.equal(report.warnings.length, 1, JSON.stringify(report.warnings));
  assert.match(report.warnings[0]!, /context 200000 tokens is past the 32768 the model was trained for/);

  const text = fitLines(report).join("\n");
  assert.match(text, /^warning +context 200000 tokens is past the 32768/m);
  assert.match(
    text,
    /^max ctx +32768 tokens, the model's trained context \(it fits the budget; rig counts no further\)$/m,
  );
  assert.doesNotMatch(text, /32768 tokens fit the budget/, "no limit the fits line contradicts");
});

test("rig fit: slots split the context, so only a context per slot past the trained one is warned about; a budget-bound max ctx names the trained context", async () => {
  const { config, server, budget } = await qwenWith("--parallel, 4", "800MB");
  const split = fitReport(config, server, budget, {}, { context: 65536 });
  assert.deepEqual(split.warnings, [], "4 slots of 16384 tokens each");

  const past = fitReport(config, server, budget, {}, { context: 262144 });
  assert.match(past.warnings[0]!, /context 262144 tokens \(65536 per slot\) is past the 32768/);
  assert.ok(past.max_context! < 32768, `1 GB holds less than the trained context: ${past.max_context}`);
  assert.match(
    fitLines(past).join("\n"),
    new RegExp(
      `^max ctx +${past.max_context} tokens fit the budget \\(the model is trained for 32768\\)$`,
      "m",
    ),
  );
});
