import assert from "node:assert/strict";
import { test } from "node:test";
import type { ArgsDef } from "citty";
import { strayArgument } from "../../src/cli/arguments.ts";

const LOGS: ArgsDef = {
  server: { type: "positional", required: false },
  follow: { type: "boolean", alias: "f" },
  lines: { type: "string", alias: "n" },
  home: { type: "string" },
  json: { type: "boolean" },
  maxTokens: { type: "string" },
};

test("every way citty takes an option is accepted", () => {
  for (const words of [
    ["tiny", "-f", "-n", "20"],
    ["--follow", "--lines=5", "tiny"],
    ["--home", "/x", "--no-json"],
    ["--max-tokens", "8", "--maxTokens=9"],
    // A string option takes the next word whatever it looks like (rig bench --vary "--flash-attn on").
    ["--home", "--odd-folder-name"],
    ["-n", "-1"],
  ])
    assert.equal(strayArgument("logs", LOGS, words), undefined, words.join(" "));
});

test("an option the command does not have is named, with the nearest it has", () => {
  assert.equal(
    strayArgument("logs", LOGS, ["--hom", "/x"]),
    "unknown option `--hom`; did you mean `--home`?",
  );
  assert.equal(strayArgument("logs", LOGS, ["--jsn=1"]), "unknown option `--jsn`; did you mean `--json`?");
  assert.equal(strayArgument("logs", LOGS, ["-x"]), "unknown option `-x`");
});

test("a word beyond the command's positional arguments is refused; bench takes any number", () => {
  assert.equal(strayArgument("logs", LOGS, ["tiny", "extra"]), "unexpected argument `extra`");
  assert.equal(strayArgument("ls", { json: { type: "boolean" } }, ["extra"]), "unexpected argument `extra`");
  const bench: ArgsDef = { server: { type: "positional" }, rounds: { type: "string" } };
  assert.equal(strayArgument("bench", bench, ["a", "b", "c", "--rounds", "1"]), undefined);
});
