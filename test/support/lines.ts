import assert from "node:assert/strict";
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/** Every line of `before` is still in `after`, in the same order: an edit kept what the person wrote. */
export function keepsEveryLine(before: string, after: string): void {
  const lines = after.split("\n");
  let at = 0;
  for (const line of before.split("\n")) {
    const found = lines.indexOf(line, at);
    assert.ok(found !== -1, `line kept: ${JSON.stringify(line)}`);
    at = found + 1;
  }
}

/** The first line a stream prints, within `ms` (a process's "ready" line). */
export async function firstLine(stream: Readable, ms = 30_000): Promise<string> {
  const reader = createInterface({ input: stream });
  try {
    const [line] = (await once(reader, "line", { signal: AbortSignal.timeout(ms) })) as [string];
    return line;
  } finally {
    reader.close();
  }
}
