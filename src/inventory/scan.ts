import { type Dirent, existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { ggufFacts, type ModelFacts, SHARD_PATTERN, safetensorsFacts } from "./formats.ts";

export type ModelFormat = "gguf" | "mlx" | "safetensors";
export type ModelSource = "files" | "huggingface" | "lmstudio" | "ollama";

export interface WeightFile {
  path: string;
  /** The file behind every symlink: what actually holds the bytes. */
  real: string;
  size: number;
  /** device:inode; two paths with the same id are one file on disk, not a copy. */
  id: string;
  /** The sha256 a content-addressed store names the file by (Hugging Face blobs, Ollama blobs). */
  claimedSha256?: string;
}

export interface FoundModel {
  /** How a profile points at it: the file, the first shard, the folder, or the Ollama blob. */
  path: string;
  format: ModelFormat;
  source: ModelSource;
  /** A human name: `Org/Repo/file.gguf` in the HF cache, `name:tag` in Ollama, the path under its root otherwise. */
  name: string;
  files: WeightFile[];
  size: number;
  facts: ModelFacts;
  /** Other paths to the same bytes (symlinks, hard links, other HF revisions): listed once, not duplicates. */
  links: string[];
  /** Why the header could not be read. */
  error?: string;
}

const SKIPPED_DIRS = new Set(["blobs", "node_modules", ".git", ".locks", ".no_exist"]);
const OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model";

function weightFile(path: string): WeightFile {
  const stat = statSync(path);
  const real = realpathSync.native(path);
  const name = basename(real);
  const claimed =
    /^[0-9a-f]{64}$/.test(name) && basename(dirname(real)) === "blobs"
      ? name
      : /^sha256-([0-9a-f]{64})$/.exec(name)?.[1];
  return { path, real, size: stat.size, id: `${stat.dev}:${stat.ino}`, claimedSha256: claimed };
}

function sourceOf(path: string): ModelSource {
  if (path.includes(`${sep}models--`)) return "huggingface";
  if (/[/\\](\.lmstudio|lm-studio)[/\\]/i.test(path)) return "lmstudio";
  return "files";
}

/** `…/models--Org--Repo/snapshots/<rev>/sub/file` → `Org/Repo/sub/file`; otherwise the path under its root. */
function nameOf(path: string, root: string): string {
  const hub = /models--([^/\\]+)[/\\]snapshots[/\\][^/\\]+(?:[/\\](.*))?$/.exec(path);
  if (hub) return [hub[1]!.split("--").join("/"), hub[2]].filter(Boolean).join("/");
  return relative(root, path) || basename(path);
}

/** The model with what its headers say; a header may also settle the format (an MLX folder). */
function withFacts(
  model: Omit<FoundModel, "facts" | "size">,
  read: () => ModelFacts & { format?: ModelFormat },
): FoundModel {
  const size = model.files.reduce((sum, file) => sum + file.size, 0);
  try {
    const { format = model.format, ...facts } = read();
    return { ...model, format, size, facts };
  } catch (error) {
    return { ...model, size, facts: {}, error: (error as Error).message };
  }
}

function ggufModel(files: string[], root: string, source?: ModelSource, name?: string): FoundModel {
  const weights = files.map(weightFile);
  return withFacts(
    {
      path: files[0]!,
      format: "gguf",
      source: source ?? sourceOf(files[0]!),
      name: name ?? nameOf(files[0]!, root),
      files: weights,
      links: [],
    },
    () => {
      const facts = ggufFacts(weights[0]!.real);
      const params = weights
        .slice(1)
        .reduce((sum, file) => sum + (ggufFacts(file.real).params ?? 0), facts.params ?? 0);
      return { ...facts, params };
    },
  );
}

/** Ollama's store: manifests/<registry>/<namespace>/<model>/<tag> name a GGUF blob in blobs/. */
function ollamaModels(store: string): FoundModel[] {
  const models: FoundModel[] = [];
  const manifests = join(store, "manifests");
  const walk = (dir: string, depth: number): void => {
    for (const entry of safeReaddir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth < 4) walk(path, depth + 1);
        continue;
      }
      let manifest: { layers?: { mediaType?: string; digest?: string }[] };
      try {
        manifest = JSON.parse(readFileSync(path, "utf8"));
      } catch {
        continue;
      }
      const digest = manifest.layers?.find((layer) => layer.mediaType === OLLAMA_MODEL_LAYER)?.digest;
      const blob = digest && join(store, "blobs", digest.replace(":", "-"));
      if (!blob || !existsSync(blob)) continue;
      const [registry, namespace, model] = relative(manifests, dir).split(sep);
      const prefix =
        registry === "registry.ollama.ai"
          ? namespace === "library"
            ? ""
            : `${namespace}/`
          : `${registry}/${namespace}/`;
      models.push(ggufModel([blob], store, "ollama", `${prefix}${model}:${entry.name}`));
    }
  };
  walk(manifests, 1);
  return models;
}

function safeReaddir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  } catch {
    return [];
  }
}

function isDirectory(entry: Dirent, path: string): boolean {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

export interface ScanOptions {
  /** Called now and then with the number of entries looked at. */
  onProgress?: (seen: number) => void;
  /** Paths rig.yaml names: a model several paths reach is listed under the one it names. */
  named?: ReadonlySet<string>;
}

/**
 * Every model under the roots, once: GGUF files (shards grouped), safetensors/MLX folders, the
 * Hugging Face cache through its symlinks, and Ollama's manifests. Reads headers only.
 */
export function scanModels(roots: string[], options: ScanOptions = {}): FoundModel[] {
  const found: FoundModel[] = [];
  const visited = new Set<string>();
  let seen = 0;
  const visit = (dir: string, root: string): void => {
    const stat = statSync(dir, { throwIfNoEntry: false });
    if (!stat?.isDirectory() || visited.has(`${stat.dev}:${stat.ino}`)) return;
    visited.add(`${stat.dev}:${stat.ino}`);
    const entries = safeReaddir(dir);
    const names = new Set(entries.map((entry) => entry.name));
    if (names.has("manifests") && names.has("blobs")) {
      found.push(...ollamaModels(dir));
      return;
    }
    if (names.has("config.json") && entries.some((entry) => entry.name.endsWith(".safetensors"))) {
      const files = entries
        .filter((entry) => entry.name.endsWith(".safetensors"))
        .map((entry) => weightFile(join(dir, entry.name)));
      found.push(
        withFacts(
          {
            path: dir,
            format: "safetensors",
            source: sourceOf(dir),
            name: nameOf(dir, root),
            files,
            links: [],
          },
          () => safetensorsFacts(dir),
        ),
      );
      return;
    }
    const shards = new Map<string, string[]>();
    for (const entry of entries) {
      if (++seen % 200 === 0) options.onProgress?.(seen);
      const path = join(dir, entry.name);
      if (entry.name.startsWith(".") || SKIPPED_DIRS.has(entry.name)) continue;
      if (isDirectory(entry, path)) {
        visit(path, root);
        continue;
      }
      if (!entry.name.toLowerCase().endsWith(".gguf")) continue;
      if (entry.isSymbolicLink() && !existsSync(path)) continue;
      const shard = SHARD_PATTERN.exec(entry.name);
      if (shard) {
        const key = `${shard[1]}\0${shard[3]}`;
        shards.set(key, [...(shards.get(key) ?? []), path]);
      } else {
        found.push(ggufModel([path], root));
      }
    }
    for (const files of shards.values()) found.push(ggufModel(files.sort(), root));
  };
  for (const root of roots) visit(root, root);
  return mergeLinks(found, options.named ?? new Set());
}

/**
 * Paths that reach the same inodes are one model, not copies. It is listed under the path rig.yaml
 * names, else its real path when one was found (a symlink elsewhere becomes a link), else the first.
 */
function mergeLinks(models: FoundModel[], named: ReadonlySet<string>): FoundModel[] {
  const byIdentity = new Map<string, FoundModel[]>();
  for (const model of models) {
    const identity = model.files
      .map((file) => file.id)
      .sort()
      .join(",");
    byIdentity.set(identity, [...(byIdentity.get(identity) ?? []), model]);
  }
  return [...byIdentity.values()].map((same) => {
    const primary =
      same.find((model) => named.has(model.path)) ??
      same.find((model) => model.files.every((file) => file.path === file.real)) ??
      same[0]!;
    primary.links.push(...same.filter((model) => model !== primary).map((model) => model.path));
    return primary;
  });
}
