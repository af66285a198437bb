import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { writeTinyModel } from "../../src/demo/tiny-model.ts";
import { cacheRoot, ensureLlamaSource, findLlamaServer, findRpcServer } from "../../src/install/llama-cpp.ts";

/** llama-server from PATH or rig's cache; scripts/test.mjs builds it (`rig install llama.cpp --rpc`) before the tests. */
export function llamaServer(): string {
  const path = findLlamaServer();
  if (!path)
    throw new Error(
      "llama-server is not built: run `npm run build && node dist/main.mjs install llama.cpp` first",
    );
  return path;
}

/** rpc-server from PATH or rig's cache; the tests install llama.cpp with --rpc (scripts/test.mjs). */
export function rpcServer(): string {
  const path = findRpcServer();
  if (!path)
    throw new Error(
      "rpc-server is not built: run `npm run build && node dist/main.mjs install llama.cpp --rpc` first",
    );
  return path;
}

/**
 * The tiny test model, written once per machine into rig's cache. The plain one never stops (exact
 * token counts); the one that ends turns is for agents, which treat a max_tokens stop as an error.
 */
export async function tinyModel(options: { endsTurns?: boolean } = {}): Promise<string> {
  const dir = join(cacheRoot(), "test-models");
  const path = join(dir, options.endsTurns ? "tiny-turns-v3.gguf" : "tiny-v3.gguf");
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const source = await ensureLlamaSource();
  const partial = `${path}.${process.pid}.partial`;
  writeTinyModel(source, partial, options);
  renameSync(partial, path);
  return path;
}
