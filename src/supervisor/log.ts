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
import { type WriteFailures, writeFailures } from "../ledger/write-failures.ts";

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

export interface LogSinkOptions {
  maxBytes?: number;
  keepLines?: number;
  /** Where a write that fails is counted; it never throws at the writer. */
  failures?: WriteFailures;
}

/**
 * A size-bounded append-only log file that also keeps the last lines in memory (progress and failure
 * tails). Writes never throw: a log that cannot be written (disk full, permission) is counted and
 * skipped, the in-memory tail still fills, and the file is reopened on the next write.
 */
export class LogSink {
  private fd?: number;
  private size = 0;
  private partial = "";
  private readonly lines: string[] = [];
  private readonly maxBytes: number;
  private readonly keepLines: number;
  private readonly failures: WriteFailures;

  constructor(
    readonly file: string,
    options: LogSinkOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? LOG_MAX_BYTES;
    this.keepLines = options.keepLines ?? 50;
    this.failures = options.failures ?? writeFailures;
    this.failures.guard("log", () => this.open());
  }

  private open(): number {
    mkdirSync(dirname(this.file), { recursive: true });
    const fd = openSync(this.file, "a");
    this.fd = fd;
    this.size = fstatSync(fd).size;
    return fd;
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    // Forgotten before closing: a closed descriptor's number can be reused by another file.
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {}
  }

  private append(buffer: Buffer): void {
    if (this.fd !== undefined && this.size + buffer.length > this.maxBytes && this.size > 0) {
      this.closeFile();
      rotate(this.file);
    }
    const fd = this.fd ?? this.open();
    // A nearly full disk takes part of a buffer before it refuses the rest.
    for (let written = 0; written < buffer.length; ) {
      const count = writeSync(fd, buffer, written);
      written += count;
      this.size += count;
    }
  }

  write(chunk: Buffer | string): void {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.failures.guard("log", () => this.append(buffer));
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
    this.closeFile();
  }
}
