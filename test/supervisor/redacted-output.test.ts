import assert from "node:assert/strict";
import { test } from "node:test";
import type { Secret } from "../../src/config/secrets.ts";
import { RedactedOutput } from "../../src/supervisor/redacted-output.ts";

const SECRETS: Secret[] = [
  ["arg-secret-0d4e8b2a", "${env:ARG_SECRET}"],
  ["gw-key-5f3a9c1e", "<gateway.api_key>"],
];

function collect(): { output: RedactedOutput; written: string[] } {
  const written: string[] = [];
  return { output: new RedactedOutput(SECRETS, (text) => written.push(text)), written };
}

test("a secret split across two chunks at any point is shown by name", () => {
  const line = "non-default args: {'api_key': ['arg-secret-0d4e8b2a'], 'port': 8000}\n";
  for (let cut = 1; cut < line.length; cut++) {
    const { output, written } = collect();
    output.push(Buffer.from(line.slice(0, cut)));
    output.push(Buffer.from(line.slice(cut)));
    output.end();
    assert.equal(written.join(""), "non-default args: {'api_key': ['${env:ARG_SECRET}'], 'port': 8000}\n");
    for (const piece of written) assert.ok(!piece.includes("0d4e8b2a"), `cut at ${cut}: ${piece}`);
  }
});

test("output that cannot begin a secret is written at once, so progress shows as it comes", () => {
  const { output, written } = collect();
  output.push(Buffer.from("loading model ....."));
  assert.deepEqual(written, ["loading model ....."]);
});

test("what could begin a secret waits for the next chunk, and is written whole at the end", () => {
  const { output, written } = collect();
  output.push(Buffer.from("key: gw-key"));
  assert.deepEqual(written, ["key: "]);
  output.end();
  assert.deepEqual(written, ["key: ", "gw-key"]);
});

test("a character split across chunks stays whole", () => {
  const { output, written } = collect();
  const bytes = Buffer.from("modèle prêt\n");
  output.push(bytes.subarray(0, 4));
  output.push(bytes.subarray(4));
  output.end();
  assert.equal(written.join(""), "modèle prêt\n");
});
