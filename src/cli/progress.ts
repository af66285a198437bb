import { formatDuration } from "../config/duration.ts";
import { pc } from "./colors.ts";

/**
 * Progress on stderr for long waits: one line rewritten in place on a terminal, and on a pipe a line
 * only when the message's phase changes or `minIntervalMs` has passed (so CI logs stay short).
 */
export function progress(label: string, minIntervalMs = 10_000) {
  const started = Date.now();
  const tty = process.stderr.isTTY;
  let lastPrinted = 0;
  let lastKey = "";
  const width = () => (process.stderr.columns || 100) - 1;
  return {
    update(message: string, key = message) {
      const line = `${pc.cyan(label)} ${pc.dim(formatDuration(Date.now() - started))} ${message}`;
      if (tty) {
        process.stderr.write(`\r\x1b[2K${line.slice(0, width() + 20)}`);
        return;
      }
      if (key !== lastKey || Date.now() - lastPrinted >= minIntervalMs) {
        process.stderr.write(`${line}\n`);
        lastPrinted = Date.now();
        lastKey = key;
      }
    },
    done(message: string) {
      if (tty) process.stderr.write("\r\x1b[2K");
      process.stderr.write(`${pc.green(label)} ${pc.dim(formatDuration(Date.now() - started))} ${message}\n`);
    },
    fail(message: string) {
      if (tty) process.stderr.write("\r\x1b[2K");
      process.stderr.write(`${pc.red(label)} ${pc.dim(formatDuration(Date.now() - started))} ${message}\n`);
    },
  };
}
