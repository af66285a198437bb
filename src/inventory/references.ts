import { existsSync, realpathSync } from "node:fs";
import { basename } from "node:path";
import type { Config, Server } from "../config/loader.ts";
import type { SourcePosition } from "../config/problems.ts";
import { modelIsPath, runtimeFor } from "../runtimes/index.ts";
import type { FoundModel } from "./scan.ts";

function real(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** The model paths the servers in rig.yaml name (for runtimes that take a path). */
export function namedModelPaths(config: Config): Set<string> {
  return new Set(
    Object.values(config.servers)
      .filter((server) => modelIsPath(runtimeFor(server.runtime), server.modelPath))
      .map((server) => server.modelPath!),
  );
}

/** Profile names per model: by path (through symlinks) for files, by name for tags and registry ids. */
export function referencesOf(config: Config, models: FoundModel[]): Map<FoundModel, string[]> {
  const byPath = new Map<string, FoundModel>();
  for (const model of models) {
    for (const path of [model.path, ...model.links, ...model.files.flatMap((file) => [file.path, file.real])])
      byPath.set(path, model);
    const resolved = real(model.path);
    if (resolved) byPath.set(resolved, model);
  }
  const byName = new Map(models.map((model) => [model.name.toLowerCase(), model]));
  const references = new Map<FoundModel, string[]>(models.map((model) => [model, []]));
  for (const server of Object.values(config.servers)) {
    if (server.modelPath === undefined) continue;
    const adapter = runtimeFor(server.runtime);
    const model = modelIsPath(adapter, server.modelPath)
      ? (byPath.get(server.modelPath) ?? byPath.get(real(server.modelPath) ?? ""))
      : byName.get((adapter.catalogName?.(server.modelPath) ?? server.modelPath).toLowerCase());
    if (model) references.get(model)!.push(server.name);
  }
  return references;
}

export interface MissingModel {
  server: string;
  model: string;
  where: SourcePosition;
  /** Models found with the same file or folder name: where it probably went. */
  candidates: string[];
}

/** Profiles whose model file or folder is not there (it moved, or was deleted). */
export function missingModels(config: Config, models: FoundModel[]): MissingModel[] {
  const pointsAtPath = (server: Server) => modelIsPath(runtimeFor(server.runtime), server.modelPath);
  return Object.values(config.servers)
    .filter((server) => pointsAtPath(server) && !existsSync(server.modelPath!))
    .map((server) => {
      const name = basename(server.modelPath!);
      return {
        server: server.name,
        model: server.modelPath!,
        where: config.where(["servers", server.name, "model"]),
        candidates: models
          .flatMap((model) => [model.path, ...model.links])
          .filter((path) => basename(path) === name),
      };
    });
}
