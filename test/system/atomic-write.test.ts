import assert from "node:assert/strict";
import fs, {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, mock, test } from "node:test";
import { writeFileAtomic } from "../../src/system/atomic-write.ts";

const folder = () => mkdtempSync(join(tmpdir(), "rig-atomic-"));
const modeOf = (path: string) => statSync(path).mode & 0o777;

/** Makes every fsync fail, as a dying disk would after the bytes were handed over. */
function failingSync(): () => void {
  const failure = mock.method(fs, "fsyncSync", () => {
    throw Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" });
  });
  syncBuiltinESMExports();
  return () => {
    failure.mock.restore();
    syncBuiltinESMExports();
  };
}

describe("writeFileAtomic", () => {
  test("an existing file keeps its mode (0640 stays 0640); a new one takes the mode asked for", () => {
    const dir = folder();
    const file = join(dir, "rig.yaml");
    writeFileSync(file, "old\n");
    chmodSync(file, 0o640);
    writeFileAtomic(file, "new\n");
    assert.equal(readFileSync(file, "utf8"), "new\n");
    assert.equal(modeOf(file).toString(8), "640");

    const secret = join(dir, "key.json");
    writeFileAtomic(secret, "{}", { mode: 0o600 });
    assert.equal(modeOf(secret).toString(8), "600");
    chmodSync(secret, 0o644);
    writeFileAtomic(secret, "{}", { mode: 0o600 });
    assert.equal(modeOf(secret).toString(8), "600", "a file that holds a secret is made private again");
  });

  test("through a symlink: the link stays a link and its target gets the bytes", () => {
    const dir = folder();
    mkdirSync(join(dir, "dotfiles"));
    const target = join(dir, "dotfiles", "rig.yaml");
    writeFileSync(target, "old\n");
    chmodSync(target, 0o600);
    const link = join(dir, "rig.yaml");
    symlinkSync("dotfiles/rig.yaml", link);
    writeFileAtomic(link, "new\n");
    assert.ok(lstatSync(link).isSymbolicLink(), "still a symlink");
    assert.equal(readlinkSync(link), "dotfiles/rig.yaml");
    assert.equal(readFileSync(target, "utf8"), "new\n");
    assert.equal(modeOf(target).toString(8), "600");
    assert.deepEqual(readdirSync(dir).sort(), ["dotfiles", "rig.yaml"], "nothing left beside the link");
    assert.deepEqual(readdirSync(join(dir, "dotfiles")), ["rig.yaml"], "nothing left beside the target");
  });

  test("a write that fails leaves the original intact and no temporary file", () => {
    const dir = folder();
    const file = join(dir, "rig.yaml");
    writeFileSync(file, "original\n");
    const restore = failingSync();
    try {
      assert.throws(() => writeFileAtomic(file, "half-written\n"), /EIO/);
    } finally {
      restore();
    }
    assert.equal(readFileSync(file, "utf8"), "original\n");
    assert.deepEqual(readdirSync(dir), ["rig.yaml"]);
  });

  test("a folder rig may not write: the error names it and nothing changes", {
    skip: process.getuid?.() === 0 && "root writes any folder; the injected failure above covers this",
  }, () => {
    const dir = folder();
    const file = join(dir, "rig.yaml");
    writeFileSync(file, "original\n");
    chmodSync(dir, 0o555);
    try {
      assert.throws(() => writeFileAtomic(file, "new\n"), /EACCES/);
    } finally {
      chmodSync(dir, 0o755);
    }
    assert.equal(readFileSync(file, "utf8"), "original\n");
    assert.deepEqual(readdirSync(dir), ["rig.yaml"]);
  });
});
