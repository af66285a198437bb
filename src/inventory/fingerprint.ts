import { createHash } from "node:crypto";
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";

export interface ModelFingerprint {
  size: number;
  mtime: string;
  /** sampledSha256 of a file, or of a folder's listing with sizes and times. */
  sample_sha256: string;
}

const MIB = 1 << 20;
const SAMPLES = 4;

/**
 * sha256 of four 1 MiB samples spread over the file (start, a third, two thirds, end) and its size:
 * tells copies from different weights of the same shape without reading gigabytes.
 */
export function sampledSha256(path: string, size: number): string {
  const hash = createHash("sha256").update(`${size}\n`);
  const fd = openSync(path, "r");
  try {
    const length = Math.min(MIB, size);
    const buffer = Buffer.allocUnsafe(length);
    const offsets = new Set(
      Array.from({ length: SAMPLES }, (_, index) => Math.floor(((size - length) * index) / (SAMPLES - 1))),
    );
    for (const offset of offsets) {
      const read = readSync(fd, buffer, 0, length, offset);
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** A cheap identity for model weights: tells "same file" from "replaced file" without reading gigabytes. */
export function fingerprint(path: string): ModelFingerprint | undefined {
  let stat: import("node:fs").Stats;
  try {
    stat = statSync(path);
  } catch {
    return undefined;
  }
  if (stat.isFile()) {
    return {
      size: stat.size,
      mtime: stat.mtime.toISOString(),
      sample_sha256: sampledSha256(path, stat.size),
    };
  }
  const hash = createHash("sha256");
  let size = 0;
  for (const entry of readdirSync(path).sort()) {
    const entryStat = statSync(join(path, entry), { throwIfNoEntry: false });
    if (!entryStat?.isFile()) continue;
    size += entryStat.size;
    hash.update(`${entry}\0${entryStat.size}\0${entryStat.mtimeMs}\n`);
  }
  return { size, mtime: stat.mtime.toISOString(), sample_sha256: hash.digest("hex") };
}
