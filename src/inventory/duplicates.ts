import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { sampledSha256 } from "./fingerprint.ts";
import type { FoundModel, WeightFile } from "./scan.ts";

export interface DuplicateGroup {
  /** The copy to keep: one a profile uses, else the one under the earliest root. */
  keep: FoundModel;
  copies: FoundModel[];
  /** Bytes freed by deleting the copies. */
  reclaimable: number;
  /** Confirmed by a full sha256 of every file (`--verify`), not only sampled. */
  verified: boolean;
}

export interface CorruptFile {
  path: string;
  expected: string;
  actual: string;
}

export interface DuplicateOptions {
  verify?: boolean;
  /** Models a profile uses: they are kept in preference to their copies. */
  isReferenced?: (model: FoundModel) => boolean;
  /** Bytes hashed so far, out of the total that `--verify` reads. */
  onHashProgress?: (done: number, total: number) => void;
}

export async function fullSha256(path: string, onBytes?: (bytes: number) => void): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest("hex");
}

function groupBy<T>(items: T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return [...groups.values()];
}

/**
 * Copies of the same weights under different paths (not links to one file): same sizes, then the
 * same sampled hashes; with `verify`, the same full sha256. Content-addressed blobs whose bytes do not
 * match their name are reported as corrupt.
 */
export async function findDuplicates(
  models: FoundModel[],
  options: DuplicateOptions = {},
): Promise<{ groups: DuplicateGroup[]; corrupt: CorruptFile[] }> {
  const shape = (model: FoundModel) => model.files.map((file) => file.size).join(",");
  const candidates = groupBy(
    models.filter((model) => model.files.length > 0),
    shape,
  ).filter((group) => group.length > 1);
  const sampled = candidates.flatMap((group) =>
    groupBy(group, (model) =>
      model.files.map((file) => sampledSha256(file.real, file.size)).join(","),
    ).filter((same) => same.length > 1),
  );
  const corrupt: CorruptFile[] = [];
  let confirmed = sampled;
  if (options.verify) {
    const files = sampled.flat().flatMap((model) => model.files);
    const total = files.reduce((sum, file) => sum + file.size, 0);
    let done = 0;
    const digests = new Map<WeightFile, string>();
    for (const file of files) {
      const digest = await fullSha256(file.real, (bytes) => {
        done += bytes;
        options.onHashProgress?.(done, total);
      });
      digests.set(file, digest);
      if (file.claimedSha256 && file.claimedSha256 !== digest)
        corrupt.push({ path: file.real, expected: file.claimedSha256, actual: digest });
    }
    confirmed = sampled.flatMap((group) =>
      groupBy(group, (model) => model.files.map((file) => digests.get(file)).join(",")).filter(
        (same) => same.length > 1,
      ),
    );
  }
  const order = new Map(models.map((model, index) => [model, index]));
  const groups = confirmed.map((group) => {
    const ranked = [...group].sort(
      (a, b) =>
        Number(options.isReferenced?.(b) ?? false) - Number(options.isReferenced?.(a) ?? false) ||
        order.get(a)! - order.get(b)!,
    );
    const [keep, ...copies] = ranked as [FoundModel, ...FoundModel[]];
    return {
      keep,
      copies,
      reclaimable: copies.reduce((sum, copy) => sum + copy.size, 0),
      verified: Boolean(options.verify),
    };
  });
  return { groups, corrupt };
}
