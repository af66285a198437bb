import assert from "node:assert/strict";

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
