import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { describe, test } from "node:test";
import { processTreeUse } from "../../src/memory/machine.ts";
import { readModelShape } from "../../src/memory/shape.ts";
import { estimateLlamaServer, llamaServerMemory } from "../../src/runtimes/llama-cpp-memory.ts";
import { freePort } from "../../src/system/ports.ts";
import { llamaServer } from "../support/llama.ts";
import { LLAMA32_1B, QWEN25_05B, type RealShape, realShapedModel } from "../support/model-trees.ts";

// The estimate against what a real llama-server allocates for models with real dimensions: its own
// buffer report (`-lv 4` prints it) and the process's resident memory once it is ready. Run under the
// heavy-test lock: each case starts llama-server (up to 2.4 GB).

const TOLERANCE = 0.1;

interface Started {
  child: ChildProcess;
  log: string[];
}

async function startLlamaServer(model: string, args: string[]): Promise<Started> {
  const port = await freePort();
  const child = spawn(llamaServer(), ["-m", model, "--port", String(port), "-lv", "4", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: string[] = [];
  for (const stream of [child.stdout!, child.stderr!])
    stream.on("data", (chunk: Buffer) => log.push(...chunk.toString().split("\n")));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited:\n${log.slice(-20).join("\n")}`);
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return { child, log };
    if (Date.now() > deadline) throw new Error("llama-server did not get ready in 2 minutes");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await once(child, "exit");
}

const within = (estimate: number, measured: number) => Math.abs(estimate - measured) / measured <= TOLERANCE;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

describe("estimates against a real llama-server, within 10%", () => {
  const shapes: RealShape[] = [QWEN25_05B, LLAMA32_1B];
  for (const shape of shapes) {
    for (const context of [2048, 32768]) {
      for (const cacheType of ["f16", "q8_0"]) {
        test(`${shape.name} at ${context} tokens, ${cacheType} KV`, async (t) => {
          const model = await realShapedModel(shape);
          const args = ["-c", String(context), "-ctk", cacheType, "-ctv", cacheType];
          const estimate = estimateLlamaServer(
            { name: shape.name, args, host: "127.0.0.1", port: "0", env: {} },
            readModelShape(model),
            { acceleratorBytes: 0, unified: false },
          )!;
          const total = estimate.weights + estimate.kv + estimate.compute;
          const { child, log } = await startLlamaServer(model, args);
          try {
            const reported = llamaServerMemory(log);
            assert.ok(reported, "llama-server reported its buffers");
            const resident = await processTreeUse(child.pid!);
            assert.ok(resident, "its process was measured");
            const comparison = `estimate ${mb(total)} (weights ${mb(estimate.weights)}, KV ${mb(estimate.kv)}, compute ${mb(estimate.compute)}); reported ${mb(reported.host)}, resident ${mb(resident.host)}`;
            t.diagnostic(comparison);
            assert.ok(within(total, reported.host), comparison);
            assert.ok(within(total, resident.host), comparison);
          } finally {
            await stopped(child);
          }
        });
      }
    }
  }
});
