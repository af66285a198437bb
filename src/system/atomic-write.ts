import { randomBytes } from "node:crypto";
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readlinkSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, resolve } from "node:path";

export interface AtomicWriteOptions {
  /**
   * The file's permission bits. Without it an existing file keeps its own and a new one gets what a
   * plain write gives (0666 less the umask). A file that holds a secret passes 0o600.
   */
  mode?: number;
}

// Linux gives up after 40 links (ELOOP); so does rig.
const MAX_LINKS = 40;

/** The file `path` names once symlinks are followed, also when the last link points at nothing yet. */
function linkTarget(path: string): string {
  let current = resolve(path);
  for (let hops = 0; hops < MAX_LINKS; hops++) {
    if (!lstatSync(current, { throwIfNoEntry: false })?.isSymbolicLink()) return current;
    current = resolve(dirname(current), readlinkSync(current));
  }
  throw Object.assign(new Error(`${path}: too many levels of symbolic links`), { code: "ELOOP" });
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
}

/** Makes the rename itself durable; a filesystem that cannot sync a folder still has the file. */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, "r");
    fsyncSync(fd);
  } catch {}
  if (fd !== undefined) closeQuietly(fd);
}

/** The new file takes the old one's owner when rig runs as someone else (root editing a user's file). */
function keepOwner(fd: number, existing: Stats): void {
  const written = fstatSync(fd);
  if (written.uid === existing.uid && written.gid === existing.gid) return;
  try {
    fchownSync(fd, existing.uid, existing.gid);
  } catch {}
}

/**
 * Replaces a file's content all at once: a reader sees the old bytes or the new, never a part. The
 * bytes go to a temporary file beside the target (through symlinks, so a linked rig.yaml stays a
 * link), are synced to disk, and renamed over it; on any failure the temporary file is removed and
 * the original is left as it was.
 */
export function writeFileAtomic(
  path: string,
  content: string | Buffer,
  options: AtomicWriteOptions = {},
): void {
  const target = linkTarget(path);
  const existing = statSync(target, { throwIfNoEntry: false });
  const temporary = `${dirname(target)}/.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(temporary, "wx", options.mode ?? 0o666);
    const mode = options.mode ?? (existing ? existing.mode & 0o7777 : undefined);
    // open() applies the umask; the mode asked for, or the file's own, is set exactly.
    if (mode !== undefined) fchmodSync(fd, mode);
    if (existing) keepOwner(fd, existing);
    writeFileSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, target);
  } catch (error) {
    if (fd !== undefined) closeQuietly(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  syncFolder(dirname(target));
}
