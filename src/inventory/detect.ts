import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { SHARD_PATTERN } from "./formats.ts";
import { type FoundModel, scanModels } from "./scan.ts";

export interface DetectedModel {
  /** The path a profile should name: the file, the first shard, or the folder. */
  path: string;
  /** The runtime these files are for: GGUF → llama.cpp, an MLX folder → mlx, other safetensors → vllm. */
  runtime: "llama.cpp" | "mlx" | "vllm";
  model: FoundModel;
}

/** What a model path holds, for `rig add server`; an error message says why when it holds no model. */
export function detectModel(path: string): DetectedModel | string {
  if (!existsSync(path)) return `no file or folder at ${path}`;
  const isFile = statSync(path).isFile();
  if (isFile && !path.toLowerCase().endsWith(".gguf"))
    return `${path} is not a GGUF file; give a .gguf file or a model folder`;
  const shard = isFile ? SHARD_PATTERN.exec(basename(path)) : null;
  const root = isFile ? dirname(path) : path;
  const found = scanModels([root]);
  const wanted = isFile
    ? found.filter((model) =>
        model.files.some((file) => file.path === (shard ? join(root, basename(path)) : path)),
      )
    : found;
  if (wanted.length === 0)
    return `no model in ${path} (looked for .gguf files and config.json with *.safetensors)`;
  if (wanted.length > 1)
    return `${path} holds ${wanted.length} models; name one of them:\n${wanted.map((model) => `  ${model.path}`).join("\n")}`;
  const model = wanted[0]!;
  if (model.error) return `${model.path}: ${model.error}`;
  const runtime = model.format === "gguf" ? "llama.cpp" : model.format === "mlx" ? "mlx" : "vllm";
  return { path: model.path, runtime, model };
}
