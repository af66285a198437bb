import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { budgetOf, capacityOf, freeOf, machineShape, poolsOf } from "../../src/memory/budget.ts";
import {
  parseAppleSysctl,
  parseGpuProcesses,
  parseMeminfo,
  parseNvidiaSmi,
  parseProcessTable,
  parseRocmSmi,
  processTree,
} from "../../src/memory/machine.ts";

const GB = 1e9;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

describe("reading the machine", () => {
  test("nvidia-smi and rocm-smi: total and used memory per device", () => {
    assert.deepEqual(parseNvidiaSmi("24576, 1024\n81920, 0\n"), [
      { total: 24576 * MIB, used: 1024 * MIB },
      { total: 81920 * MIB, used: 0 },
    ]);
    assert.deepEqual(parseNvidiaSmi("NVIDIA-SMI has failed\n"), []);
    const rocm = JSON.stringify({
      card0: { "VRAM Total Memory (B)": "17163091968", "VRAM Total Used Memory (B)": "12345" },
    });
    assert.deepEqual(parseRocmSmi(rocm), [{ total: 17163091968, used: 12345 }]);
  });

  test("/proc/meminfo: MemTotal and MemAvailable", () => {
    const meminfo = "MemTotal:       24683420 kB\nMemFree:        1000 kB\nMemAvailable:   22000000 kB\n";
    assert.deepEqual(parseMeminfo(meminfo), { total: 24683420 * 1024, available: 22000000 * 1024 });
  });

  test("Apple silicon: the GPU's wired limit, or macOS's default share when it is 0", () => {
    assert.deepEqual(parseAppleSysctl("68719476736\n57344\n"), { total: 64 * GIB, gpuLimit: 56 * GIB });
    assert.deepEqual(parseAppleSysctl("34359738368\n0\n"), {
      total: 32 * GIB,
      gpuLimit: Math.round((32 * GIB * 2) / 3),
    });
    assert.deepEqual(parseAppleSysctl("137438953472\n0\n"), { total: 128 * GIB, gpuLimit: 96 * GIB });
  });

  test("a server's process tree and what nvidia-smi lists for its pids", () => {
    const table = parseProcessTable(
      "  1     0   100\n 50     1  2000\n 51    50   300\n 52    51    10\n 60     1   999\n",
    );
    assert.deepEqual(processTree(50, table).sort(), [50, 51, 52]);
    assert.deepEqual(
      [...parseGpuProcesses("51, 2048\n52, 1024\n")],
      [
        [51, 2048 * MIB],
        [52, 1024 * MIB],
      ],
    );
  });
});

describe("the budget", () => {
  const machine = { ram: { total: 64 * GB, available: 40 * GB }, gpus: [{ total: 24 * GB, used: 1 * GB }] };

  test("auto: the machine's memory less the reserve, capped by what is free now", () => {
    const budget = budgetOf({ ram: "auto", gpu: "auto", reserve: 2 * GB }, machine);
    assert.equal(budget.pools.ram!.limit, 62 * GB);
    assert.equal(budget.pools.gpu!.limit, 22 * GB);
    const capacity = capacityOf(budget);
    assert.deepEqual(capacity.available, { ram: 38 * GB, gpu: 21 * GB });
    assert.deepEqual(freeOf(capacity, { ram: 30 * GB, gpu: 2 * GB }), { ram: 32 * GB, gpu: 20 * GB });
    assert.deepEqual(
      freeOf(capacity, { ram: 10 * GB }),
      { ram: 38 * GB, gpu: 21 * GB },
      "others use memory too",
    );
  });

  test("a set size is what rig's servers may hold, whatever the machine has", () => {
    const budget = budgetOf({ ram: 16 * GB, gpu: "auto", reserve: 2 * GB }, machine);
    assert.equal(budget.pools.ram!.limit, 16 * GB);
    assert.equal(budget.pools.ram!.available, undefined);
    assert.match(budget.pools.ram!.from, /memory\.ram: 16\.0 GB/);
  });

  test("no GPU: everything a runtime would offload goes to RAM; unified memory is one pool", () => {
    const cpu = budgetOf({ ram: "auto", gpu: "auto", reserve: 0 }, { ram: { total: 32 * GB }, gpus: [] });
    assert.deepEqual(machineShape(cpu), { acceleratorBytes: 0, unified: false });
    assert.deepEqual(poolsOf({ accelerator: 3, host: 1 }, cpu), { ram: 4 });
    const mac = budgetOf(
      { ram: "auto", gpu: "auto", reserve: 4 * GB },
      { gpus: [], unified: { total: 64 * GB, gpuLimit: 48 * GB } },
    );
    assert.deepEqual(Object.keys(mac.pools), ["unified"]);
    assert.equal(mac.pools.unified!.limit, 44 * GB);
    assert.deepEqual(machineShape(mac), { acceleratorBytes: 48 * GB, unified: true });
    assert.deepEqual(poolsOf({ accelerator: 3, host: 1 }, mac), { unified: 4 });
    const gpu = budgetOf({ ram: "auto", gpu: "auto", reserve: 0 }, machine);
    assert.deepEqual(poolsOf({ accelerator: 3, host: 1 }, gpu), { ram: 1, gpu: 3 });
  });
});
