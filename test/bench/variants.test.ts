// `--vary`: the words split as a shell splits them, a variant's flags replacing the profile's, and the
// temporary profiles the daemon lays over rig.yaml (in-process, no server).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  parseVary,
  VariantProfiles,
  variantArgs,
  variantServers,
  variantSpecsOf,
} from "../../src/bench/variants.ts";
import { type Config, loadConfig } from "../../src/config/loader.ts";

const config: Config = await loadConfig({
  home: "/nonexistent/rig-vary-test",
  env: { HOME: "/nonexistent" },
  text: `
servers:
  qwen:
    runtime: llama.cpp
    model: models/qwen.gguf
    args: [--flash-attn, "on", --threads, 4, --mlock, --temp, -1]
    aliases: [q]
  other: { runtime: llama.cpp, model: models/other.gguf, group: big }
`,
});
const qwen = config.servers.qwen!;

describe("--vary", () => {
  test("splits on | into variants a, b, …, keeping quoted words whole; an empty side is the profile as written", () => {
    assert.deepEqual(parseVary(`--flash-attn on | --override-kv "a b=c" | `), [
      { label: "a", args: ["--flash-attn", "on"] },
      { label: "b", args: ["--override-kv", "a b=c"] },
      { label: "c", args: [] },
    ]);
    assert.deepEqual(parseVary("-c 'x|y'|-c z"), [
      { label: "a", args: ["-c", "x|y"] },
      { label: "b", args: ["-c", "z"] },
    ]);
  });

  test("refuses what cannot be compared: one variant, the same variant twice, an open quote", () => {
    assert.match((parseVary("--flash-attn on") as { error: string }).error, /at least two variants/);
    assert.match((parseVary("-t 4 | -t  4") as { error: string }).error, /same variant twice/);
    assert.match((parseVary(`-t "4 | -t 8`) as { error: string }).error, /unclosed/);
  });

  test("a variant's flag replaces the profile's with its value, whatever the form; other args stay in order", () => {
    assert.deepEqual(variantArgs(qwen.args, ["--flash-attn", "off"]), [
      "--threads",
      "4",
      "--mlock",
      "--temp",
      "-1",
      "--flash-attn",
      "off",
    ]);
    assert.deepEqual(variantArgs(["--threads=4", "--mlock"], ["--threads", "8", "--no-mmap"]), [
      "--mlock",
      "--threads",
      "8",
      "--no-mmap",
    ]);
    assert.deepEqual(variantArgs(["--temp", "-1", "-ngl", "99"], ["--temp", "0.5"]), [
      "-ngl",
      "99",
      "--temp",
      "0.5",
    ]);
    assert.deepEqual(variantArgs(qwen.args, []), qwen.args);
  });

  test("variants are profiles of their own that never run beside each other or the profile they vary", () => {
    const [a, b] = variantServers(qwen, [
      { label: "a", args: ["--flash-attn", "on"] },
      { label: "b", args: ["--flash-attn", "off"] },
    ]);
    assert.equal(a!.name, "qwen~a");
    assert.equal(b!.name, "qwen~b");
    assert.deepEqual(b!.args.slice(-2), ["--flash-attn", "off"]);
    assert.equal(a!.group, "bench qwen");
    assert.deepEqual(a!.aliases, [], "the profile's aliases keep routing to the profile");
    assert.notEqual(a!.profileHash, b!.profileHash);
    assert.notEqual(a!.profileHash, qwen.profileHash);
    assert.equal(variantServers(config.servers.other!, [{ label: "a", args: [] }])[0]!.group, "big");
  });

  test("the daemon's overlay adds the variants and groups the profile with them, leaving the config read from disk as it was", () => {
    const profiles = new VariantProfiles();
    assert.equal(profiles.applyTo(config), config, "no variants: the config as read");
    assert.deepEqual(
      profiles.set("qwen", [
        { label: "a", args: ["-t", "1"] },
        { label: "b", args: ["-t", "2"] },
      ]),
      ["qwen~a", "qwen~b"],
    );
    const served = profiles.applyTo(config);
    assert.deepEqual(Object.keys(served.servers), ["qwen", "other", "qwen~a", "qwen~b"]);
    assert.equal(served.servers.qwen!.group, "bench qwen");
    assert.equal(served.servers.qwen!.profileHash, qwen.profileHash, "grouping does not restart the profile");
    assert.equal(config.servers.qwen!.group, undefined);
    profiles.set("qwen", []);
    assert.deepEqual(Object.keys(profiles.applyTo(config).servers), ["qwen", "other"]);
  });

  test("the daemon takes only labels and string args", () => {
    assert.deepEqual(variantSpecsOf({ variants: [{ label: "a", args: ["-t", "1"] }] }), [
      { label: "a", args: ["-t", "1"] },
    ]);
    assert.ok("error" in variantSpecsOf({ variants: [{ label: "../x", args: [] }] }));
    assert.ok("error" in variantSpecsOf({ variants: [{ label: "a", args: [1] }] }));
    assert.ok("error" in variantSpecsOf({}));
  });
});
