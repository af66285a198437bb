import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";

const CHUNK_BYTES = 64 * 1024;
const FOLLOW_INTERVAL_MS = 250;

export interface FollowOptions {
  /** How many of the file's last lines to send first. */
  lines?: number;
  intervalMs?: number;
}

/**
 * Sends the last lines of a log file, then every whole line appended to it, across rotations: the
 * file rig writes is renamed to `.1` and a new one opened, so the old file is read to its end before
 * the new one is read from its start (a file that shrank was truncated: read again from the start).
 * A file that does not exist yet is waited for.
 */
export function followLog(
  file: string,
  onLines: (lines: string[], rotated: boolean) => void,
  options: FollowOptions = {},
): { close(): void } {
  let fd: number | undefined;
  let inode = 0;
  let position = 0;
  let partial = "";
  let rotated = false;

  const emit = (text: string, keep = Number.POSITIVE_INFINITY) => {
    const parts = (partial + text).split(/\r?\n/);
    partial = parts.pop() ?? "";
    const lines = parts.filter((line) => line.trim()).slice(-keep);
    if (lines.length || rotated) onLines(lines, rotated);
    rotated = false;
  };
  const readToEnd = (): string => {
    if (fd === undefined) return "";
    const chunks: Buffer[] = [];
    for (;;) {
      const buffer = Buffer.alloc(CHUNK_BYTES);
      const count = readSync(fd, buffer, 0, buffer.length, position);
      if (count === 0) break;
      position += count;
      chunks.push(buffer.subarray(0, count));
    }
    return Buffer.concat(chunks).toString("utf8");
  };
  /** Opens the file at its start, or near its end; true when that cut a line. */
  const open = (fromTail: boolean): boolean => {
    const handle = openSync(file, "r");
    const { size, ino } = fstatSync(handle);
    fd = handle;
    inode = ino;
    position = fromTail ? Math.max(0, size - CHUNK_BYTES) : 0;
    return position > 0;
  };
  const closeFile = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  const tick = () => {
    const current = statSync(file, { throwIfNoEntry: false });
    if (fd !== undefined) emit(readToEnd());
    if (!current) return;
    if (fd === undefined || current.ino !== inode || current.size < position) {
      if (fd !== undefined) {
        rotated = true;
        partial = "";
      }
      closeFile();
      open(false);
      emit(readToEnd());
    }
  };

  if (statSync(file, { throwIfNoEntry: false })) {
    const cut = open(true);
    const tail = readToEnd();
    // A tail that starts mid-line begins at the next whole line.
    emit(cut ? tail.slice(tail.indexOf("\n") + 1) : tail, options.lines ?? 200);
  }
  const timer = setInterval(() => {
    try {
      tick();
    } catch {
      // The file vanished between stat and open: the next tick sees what replaced it.
      closeFile();
    }
  }, options.intervalMs ?? FOLLOW_INTERVAL_MS);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      closeFile();
    },
  };
}
