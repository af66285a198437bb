import assert from "node:assert/strict";
import fs, {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, mock, test } from "node:test";
import { insertEntry, writeConfigAtomically } from "../../src/config/editor.ts";

const BEFORE = "# my stack\nservers:\n  a: { runtime: remote, url: http://box:1 }\n";
const AFTER = insertEntry(BEFORE, "servers", "b", { runtime: "remote", url: "http://box:2" });

function home(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "rig-editor-"));
  const file = join(dir, "rig.yaml");
  writeFileSync(file, BEFORE);
  return { dir, file };
}

describe("rig add writes rig.yaml", () => {
  test("the file keeps its mode (0640 stays 0640), and so does its backup", () => {
    const { file } = home();
    chmodSync(file, 0o640);
    const result = writeConfigAtomically(file, BEFORE, AFTER);
    assert.equal(readFileSync(file, "utf8"), AFTER);
    assert.equal((statSync(file).mode & 0o777).toString(8), "640");
    assert.equal(result.backup, `${file}.bak`);
    assert.equal(readFileSync(result.backup!, "utf8"), BEFORE);
    assert.equal((statSync(result.backup!).mode & 0o777).toString(8), "640");
  });

  test("a symlinked rig.yaml stays a link; the file it points at is the one edited", () => {
    const { dir } = home();
    mkdirSync(join(dir, "dotfiles"));
    const target = join(dir, "dotfiles", "rig.yaml");
    writeFileSync(target, BEFORE);
    const link = join(dir, "linked.yaml");
    symlinkSync(target, link);
    writeConfigAtomically(link, BEFORE, AFTER);
    assert.ok(lstatSync(link).isSymbolicLink(), "rig.yaml is still a symlink");
    assert.equal(readFileSync(target, "utf8"), AFTER);
    assert.deepEqual(readdirSync(join(dir, "dotfiles")), ["rig.yaml"]);
  });

  test("a write that fails leaves rig.yaml as it was and no partial file", () => {
    const { dir, file } = home();
    const rename = fs.renameSync;
    // The disk fills up as the new rig.yaml is put in place (after its backup was written).
    const failure = mock.method(fs, "renameSync", (from: string, to: string) => {
      if (to === file)
        throw Object.assign(new Error("ENOSPC: no space left on device, rename"), { code: "ENOSPC" });
      rename(from, to);
    });
    syncBuiltinESMExports();
    try {
      assert.throws(() => writeConfigAtomically(file, BEFORE, AFTER), /ENOSPC/);
    } finally {
      failure.mock.restore();
      syncBuiltinESMExports();
    }
    assert.equal(readFileSync(file, "utf8"), BEFORE);
    assert.deepEqual(
      readdirSync(dir)
        .filter((name) => name !== "rig.yaml.bak")
        .sort(),
      ["rig.yaml"],
    );
  });
});
