import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";

export const LOG_MAX_BYTES = 10 * 1024 * 1024;
export const LOG_KEEP = 2;

/** Rotates `file` to file.1 … file.N when it grows past maxBytes. */
export function rotate(file: string, keep = LOG_KEEP): void {
  rmSync(`${file}.${keep}`, { force: true });
  for (let index = keep - 1; index >= 1; index--) {
    if (existsSync(`${file}.${index}`)) renameSync(`${file}.${index}`, `${file}.${index + 1}`);
  }
  if (existsSync(file)) renameSync(file, `${file}.1`);
}

/** A size-bounded append-only log file that also keeps the last lines in memory (progress and failure tails). */
export class LogSink {
  private fd: number;
  private size: number;
  private partial = "";
  private readonly lines: string[] = [];

  constructor(
    readonly file: string,
    private readonly maxBytes = LOG_MAX_BYTES,
    private readonly keepLines = 50,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    this.fd = openSync(file, "a");
    this.size = fstatSync(this.fd).size;
  }

  write(chunk: Buffer | string): void {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (this.size + buffer.length > this.maxBytes && this.size > 0) {
      closeSync(this.fd);
      rotate(this.file);
      this.fd = openSync(this.file, "a");
      this.size = 0;
    }
    writeSync(this.fd, buffer);
    this.size += buffer.length;
    const text = this.partial + buffer.toString("utf8");
    const parts = text.split(/\r?\n|\r/);
    this.partial = parts.pop() ?? "";
    for (const line of parts) {
      if (!line.trim()) continue;
      this.lines.push(line);
      if (this.lines.length > this.keepLines) this.lines.shift();
    }
  }

  tail(count = 20): string[] {
    const lines = this.partial.trim() ? [...this.lines, this.partial] : this.lines;
    return lines.slice(-count);
  }

  lastLine(): string | undefined {
    return this.tail(1)[0];
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {}
  }
}
