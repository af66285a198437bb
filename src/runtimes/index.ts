import { isAbsolute } from "node:path";
import type { KeyPath } from "../config/problems.ts";
import { command } from "./command.ts";
import { llamaCpp } from "./llama-cpp.ts";
import { lmstudio } from "./lmstudio.ts";
import { mlx } from "./mlx.ts";
import { ollama } from "./ollama.ts";
import { remote } from "./remote.ts";
import { sglang } from "./sglang.ts";
import type { ProfileTarget, RuntimeAdapter } from "./types.ts";
import { vllm } from "./vllm.ts";

// Order matters: the first runtime is the one a starter rig.yaml shows when none is found, and the
// first that loads a model format is the one chosen for files of that format.
export const RUNTIMES: Readonly<Record<string, RuntimeAdapter>> = Object.fromEntries(
  [llamaCpp, mlx, vllm, sglang, ollama, lmstudio, remote, command].map((adapter) => [adapter.kind, adapter]),
);

export const RUNTIME_KINDS = Object.keys(RUNTIMES) as [string, ...string[]];

export function runtimeFor(kind: string): RuntimeAdapter {
  const adapter = RUNTIMES[kind];
  if (!adapter) throw new Error(`unknown runtime "${kind}" (known: ${RUNTIME_KINDS.join(", ")})`);
  return adapter;
}

/** The runtime for model files of this format (`rig add server`, `rig init`), if any loads it. */
export function runtimeForFormat(format: string): RuntimeAdapter | undefined {
  return Object.values(RUNTIMES).find((adapter) => (adapter.formats as readonly string[]).includes(format));
}

/** The runtime kinds whose profiles must set this key. */
export function kindsRequiring(target: ProfileTarget): string[] {
  return RUNTIME_KINDS.filter((kind) => RUNTIMES[kind]!.requires === target);
}

/**
 * The rig.yaml key that sets a profile's executable: its own `command:` when the profile names its
 * argv, otherwise the runtime's override.
 */
export function executableKey(adapter: RuntimeAdapter, server: string): KeyPath {
  return adapter.requires === "command"
    ? ["servers", server, "command"]
    : ["runtimes", adapter.kind, "command"];
}

/** The program a launch runs, given the argv prefix rig.yaml sets; undefined when nothing runs here. */
export function executableOf(
  adapter: RuntimeAdapter,
  command: readonly string[] | undefined,
): string | undefined {
  return (command ?? adapter.defaultCommand)[0];
}

/**
 * Whether a profile's resolved `model:` is a file or folder on this machine, as opposed to a tag, a
 * registry id or a name on another server (the loader makes every path it resolves absolute).
 */
export function modelIsPath(adapter: RuntimeAdapter, model: string | undefined): model is string {
  return model !== undefined && adapter.modelKind !== "tag" && isAbsolute(model);
}
