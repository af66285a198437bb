import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { runtimeForFormat } from "../runtimes/index.ts";
import { SHARD_PATTERN } from "./formats.ts";
import { type FoundModel, scanModels } from "./scan.ts";

export interface DetectedModel {
  /** The path a profile should name: the file, the first shard, or the folder. */
  path: string;
  /** The runtime kind these files are for: the first in the registry that loads their format. */
  runtime: string;
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
  const runtime = runtimeForFormat(model.format);
  if (!runtime) return `${model.path}: no runtime rig knows loads ${model.format} models`;
  return { path: model.path, runtime: runtime.kind, model };
}
