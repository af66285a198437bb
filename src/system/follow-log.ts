// Following a log file as `tail -F` does: the page's live log and `rig logs` read logs this one way.

import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";

const CHUNK_BYTES = 64 * 1024;
const FOLLOW_INTERVAL_MS = 250;

export interface FollowOptions {
  /** How many of the file's last lines to send first (200 unless told; 0 sends none). */
  lines?: number;
  intervalMs?: number;
  /** Keep the process running while following (`rig logs -f`); the daemon's followers do not. */
  keepAlive?: boolean;
  /** A single read (`rig logs` without -f): an unfinished last line is a line, not held for its end. */
  once?: boolean;
}

/**
 * Where the last `count` lines of an open file start, near enough: a chunk at a time back from its
 * end until more than `count` line ends are in, so a long tail is read whole and a short one cheaply.
 */
function tailStart(fd: number, size: number, count: number): number {
  let start = size;
  let lineEnds = 0;
  while (start > 0 && lineEnds <= count) {
    const length = Math.min(CHUNK_BYTES, start);
    start -= length;
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, start);
    for (const byte of buffer) if (byte === 0x0a) lineEnds++;
  }
  return start;
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
    const whole = parts.filter((line) => line.trim());
    // slice(-0) would keep every line.
    const lines = keep === 0 ? [] : whole.slice(-keep);
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
  /** Opens the file at its start, or where its last `tail` lines start; true when that cut a line. */
  const open = (tail?: number): boolean => {
    const handle = openSync(file, "r");
    const { size, ino } = fstatSync(handle);
    fd = handle;
    inode = ino;
    position = tail === undefined ? 0 : tailStart(handle, size, tail);
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
      open();
      emit(readToEnd());
    }
  };

  const tailLines = options.lines ?? 200;
  if (statSync(file, { throwIfNoEntry: false })) {
    const cut = open(tailLines);
    const read = readToEnd();
    const tail = options.once && read && !read.endsWith("\n") ? `${read}\n` : read;
    // A tail that starts mid-line begins at the next whole line.
    emit(cut ? tail.slice(tail.indexOf("\n") + 1) : tail, tailLines);
  }
  const timer = setInterval(() => {
    try {
      tick();
    } catch {
      // The file vanished between stat and open: the next tick sees what replaced it.
      closeFile();
    }
  }, options.intervalMs ?? FOLLOW_INTERVAL_MS);
  if (!options.keepAlive) timer.unref();
  return {
    close() {
      clearInterval(timer);
      closeFile();
    },
  };
}
