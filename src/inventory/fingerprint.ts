import { createHash } from "node:crypto";
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";

export interface ModelFingerprint {
  size: number;
  mtime: string;
  /** sha256 of the first and last MiB (a file), or of the listing with sizes (a folder). */
  sample_sha256: string;
}

const MIB = 1 << 20;

function sampleHash(path: string, size: number): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(Math.min(MIB, size));
    readSync(fd, buffer, 0, buffer.length, 0);
    hash.update(buffer);
    if (size > MIB) {
      const tail = Buffer.alloc(Math.min(MIB, size - MIB));
      readSync(fd, tail, 0, tail.length, size - tail.length);
      hash.update(tail);
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
    return { size: stat.size, mtime: stat.mtime.toISOString(), sample_sha256: sampleHash(path, stat.size) };
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
