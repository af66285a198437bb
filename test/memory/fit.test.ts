import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig } from "../../src/config/loader.ts";
import { budgetOf } from "../../src/memory/budget.ts";
import { estimateServer } from "../../src/memory/estimate.ts";
import { fitReport } from "../../src/memory/fit.ts";
import { QWEN25_05B, realShapedModel } from "../support/model-trees.ts";

const GB = 1e9;

async function homeWith(yaml: string) {
  const root = mkdtempSync(join(tmpdir(), "rig-fit-"));
  writeFileSync(join(root, "rig.yaml"), yaml);
  return loadConfig({ home: root });
}

test("rig fit: a Qwen2.5-0.5B shape at 32k tokens does not fit 1 GB; the largest context that does is found", async () => {
  const model = await realShapedModel(QWEN25_05B);
  const config = await homeWith(
    `memory: { ram: 1GB }\nservers:\n  qwen: { runtime: llama.cpp, model: ${model}, context: 32768 }\n`,
  );
  const budget = budgetOf(config.memory, { ram: { total: 64 * GB }, gpus: [] });
  const qwen = config.servers.qwen!;
  const report = fitReport(config, qwen, budget, {});
  assert.equal(report.source, "estimate");
  assert.equal(report.context, 32768);
  assert.ok(report.estimate!.weights > 0.5 * GB && report.estimate!.weights < 0.55 * GB);
  assert.equal(
    report.estimate!.kv,
    24 * 32768 * 2 * 128 * 2,
    "24 layers × 2 KV heads × 64 dims, K and V at f16",
  );
  assert.deepEqual(Object.keys(report.where), ["ram"]);
  assert.equal(report.fits, false);
  const largest = report.max_context!;
  const at = (context: number) => {
    const estimate = estimateServer(config, qwen, budget, context)!;
    return estimate.weights + estimate.kv + estimate.compute;
  };
  assert.ok(at(largest) <= GB && at(largest + 256) > GB, `largest: ${largest}`);

  const held = fitReport(config, qwen, budget, { ram: 0.5 * GB }, { context: 2048 });
  assert.equal(held.fits, true, "2k tokens fit the budget");
  assert.equal(held.fits_now, false, "but not beside 0.5 GB held by others");
  assert.deepEqual(held.free, { ram: 0.5 * GB });
});
