import type { Config } from "../../config/loader.ts";
import { findDuplicates } from "../../inventory/duplicates.ts";
import { formatParams } from "../../inventory/formats.ts";
import { namedModelPaths, referencesOf } from "../../inventory/references.ts";
import { type FoundModel, scanModels } from "../../inventory/scan.ts";
import type { InventoryView } from "./protocol.ts";

/**
 * `rig models` and `rig models --dups` for the page: every model under paths.models, which profiles
 * use it, and the copies of the same weights (sampled hashes: the page never reads whole files).
 */
export async function inventoryView(config: Config): Promise<InventoryView> {
  const models = scanModels(config.paths.models, { named: namedModelPaths(config) });
  const references = referencesOf(config, models);
  const { groups } = await findDuplicates(models, {
    isReferenced: (model) => references.get(model)!.length > 0,
  });
  const keptBy = new Map<FoundModel, FoundModel>();
  for (const group of groups) for (const copy of group.copies) keptBy.set(copy, group.keep);
  return {
    roots: config.paths.models,
    models: models.map((model) => ({
      path: model.path,
      name: model.name,
      format: model.format,
      source: model.source,
      arch: model.facts.arch ?? null,
      params: formatParams(model.facts.params) || null,
      quant: model.facts.quant ?? null,
      context: model.facts.context ?? null,
      size: model.size,
      used_by: references.get(model)!,
      duplicate_of: keptBy.get(model)?.path ?? null,
      links: model.links,
      error: model.error ?? null,
    })),
    duplicates: groups.map((group) => ({
      keep: group.keep.path,
      copies: group.copies.map((copy) => copy.path),
      size: group.keep.size,
      reclaimable: group.reclaimable,
      verified: group.verified,
    })),
  };
}
