import assert from "node:assert/strict";
import {
  copyFileSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { rig } from "../support/cli.ts";
import { homesForThisFile, type TestHome } from "../support/home.ts";
import { hfCacheRepo, mlxFolder, ollamaModel, writeModelGguf } from "../support/model-trees.ts";

const newHome = homesForThisFile();

// A messy disk: the same weights in rig's folder, LM Studio's and the Hugging Face cache (two
// revisions of one blob), an Ollama store, a sparse file that looks 14 GB, a split model, an MLX
// folder, two files that differ only where sampling does not look, and a profile whose file moved.
let home: TestHome;
let tree: string;
const params: Record<string, number> = {};

before(async () => {
  home = await newHome();
  tree = home.root;
  const models = join(tree, "models");
  const lmstudio = join(tree, ".lmstudio", "models");
  const hub = join(tree, "hub");
  const ollama = join(tree, "ollama", "models");
  const scratch = join(tree, "scratch");
  mkdirSync(scratch, { recursive: true });

  params.qwen = writeModelGguf(join(models, "qwen-7b.gguf"), { dense: true, name: "qwen", arch: "qwen2" });
  symlinkSync("qwen-7b.gguf", join(models, "alias.gguf"));
  mkdirSync(join(lmstudio, "pub", "repo"), { recursive: true });
  copyFileSync(join(models, "qwen-7b.gguf"), join(lmstudio, "pub", "repo", "qwen-7b.gguf"));
  hfCacheRepo(hub, "Org/Qwen-GGUF", {
    rev1: { "qwen-7b.gguf": join(models, "qwen-7b.gguf") },
    rev2: { "qwen-7b.gguf": join(models, "qwen-7b.gguf") },
  });

  params.big = writeModelGguf(join(models, "big-70b.gguf"), {
    fileType: 18,
    context: 131072,
    layers: 4,
    tensorBytes: 1 << 30,
  });
  params.split1 = writeModelGguf(join(models, "split", "m-00001-of-00002.gguf"), {
    split: { no: 0, count: 2 },
  });
  params.split2 = writeModelGguf(join(models, "split", "m-00002-of-00002.gguf"), {
    split: { no: 1, count: 2 },
    layers: 1,
  });

  mlxFolder(join(scratch, "mlx"));
  hfCacheRepo(hub, "mlx-community/Qwen-4bit", {
    rev1: {
      "config.json": join(scratch, "mlx", "config.json"),
      "model.safetensors": join(scratch, "mlx", "model.safetensors"),
    },
  });

  writeModelGguf(join(scratch, "tiny.gguf"), { dense: true, name: "tiny", arch: "phi3", fileType: 7 });
  ollamaModel(ollama, "tiny", "latest", join(scratch, "tiny.gguf"));

  writeModelGguf(join(models, "ft-a.gguf"), { dense: true, embedding: 256, vocab: 4096, name: "ft" });
  const variant = readFileSync(join(models, "ft-a.gguf"));
  variant[1_572_864] = (variant[1_572_864]! + 1) % 256;
  writeFileSync(join(scratch, "ft-b.gguf"), variant);
  // The blob is named for ft-a's bytes but holds ft-b's: what an interrupted download leaves.
  hfCacheRepo(hub, "Org/FT", { main: { "ft.gguf": join(models, "ft-a.gguf") } });
  const blobs = join(hub, "models--Org--FT", "blobs");
  writeFileSync(join(blobs, readdirSync(blobs)[0]!), variant);

  mkdirSync(join(lmstudio, "pub", "old"), { recursive: true });
  writeModelGguf(join(lmstudio, "pub", "old", "moved.gguf"), { dense: true, name: "moved", layers: 1 });

  home.write(
    "rig.yaml",
    `gateway: { host: 127.0.0.1, port: ${home.port} }
paths:
  models: [models, ${lmstudio}, ${hub}, ${ollama}]
  bin: bin
servers:
  qwen: { runtime: llama.cpp, model: models/qwen-7b.gguf }
  big: { runtime: llama.cpp, model: models/big-70b.gguf }
  split: { runtime: llama.cpp, model: models/split/m-00001-of-00002.gguf }
  mlxq: { runtime: mlx, model: ${hub}/models--mlx-community--Qwen-4bit/snapshots/rev1 }
  oll: { runtime: ollama, model: tiny }
  gone:
    runtime: llama.cpp
    model: models/moved.gguf
`,
  );
});

interface Entry {
  path: string;
  name: string;
  source: string;
  format: string;
  arch: string | null;
  params: number | null;
  quant: string | null;
  context: number | null;
  size: number;
  files: number;
  referenced_by: string[];
  duplicate_of: string | null;
  links: string[];
}

async function inventory(...flags: string[]): Promise<Entry[]> {
  const result = await rig(["models", "--json", ...flags], { home: home.root });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

test("rig models lists every model once, with its facts, links and the profiles that use it", async () => {
  const entries = await inventory();
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  const models = join(tree, "models");
  const hub = join(tree, "hub");

  const qwen = byPath.get(join(models, "qwen-7b.gguf"))!;
  assert.ok(qwen, `qwen listed under its real path: ${[...byPath.keys()].join("\n")}`);
  assert.deepEqual(
    {
      arch: qwen.arch,
      params: qwen.params,
      quant: qwen.quant,
      context: qwen.context,
      refs: qwen.referenced_by,
    },
    { arch: "qwen2", params: params.qwen, quant: "Q4_K_M", context: 32768, refs: ["qwen"] },
  );
  assert.deepEqual(qwen.links, [join(models, "alias.gguf")], "a symlink is a link, not a second model");
  assert.equal(qwen.duplicate_of, null, "the copy a profile uses is the one kept");

  const hfEntries = entries.filter((entry) => entry.path.startsWith(join(hub, "models--Org--Qwen-GGUF")));
  assert.equal(hfEntries.length, 1, "two revisions of one blob are one model");
  assert.equal(hfEntries[0]!.name, "Org/Qwen-GGUF/qwen-7b.gguf");
  assert.equal(hfEntries[0]!.source, "huggingface");
  assert.equal(hfEntries[0]!.links.length, 1);
  assert.equal(hfEntries[0]!.duplicate_of, qwen.path);
  const lm = byPath.get(join(tree, ".lmstudio", "models", "pub", "repo", "qwen-7b.gguf"))!;
  assert.equal(lm.source, "lmstudio");
  assert.equal(lm.duplicate_of, qwen.path);

  const big = byPath.get(join(models, "big-70b.gguf"))!;
  assert.equal(big.size, statSync(join(models, "big-70b.gguf")).size);
  assert.ok(big.size > 14e9, "the sparse file looks 14 GB");
  assert.deepEqual([big.quant, big.context, big.params], ["Q6_K", 131072, params.big]);
  assert.equal(big.duplicate_of, null);

  const split = byPath.get(join(models, "split", "m-00001-of-00002.gguf"))!;
  assert.equal(split.files, 2, "shards are one model");
  assert.equal(split.params, params.split1! + params.split2!);
  assert.ok(!byPath.has(join(models, "split", "m-00002-of-00002.gguf")));
  assert.deepEqual(split.referenced_by, ["split"]);

  const mlx = entries.find((entry) => entry.format === "mlx")!;
  assert.deepEqual(
    { name: mlx.name, arch: mlx.arch, quant: mlx.quant, context: mlx.context, refs: mlx.referenced_by },
    {
      name: "mlx-community/Qwen-4bit",
      arch: "Qwen2ForCausalLM",
      quant: "4bit",
      context: 40960,
      refs: ["mlxq"],
    },
  );
  assert.equal(mlx.params, 64 * 8 * 8 + 64, "packed 4-bit weights count as the values they hold");

  const ollama = entries.find((entry) => entry.source === "ollama")!;
  assert.deepEqual(
    { name: ollama.name, arch: ollama.arch, quant: ollama.quant, refs: ollama.referenced_by },
    { name: "tiny:latest", arch: "phi3", quant: "Q8_0", refs: ["oll"] },
  );
});

test("a model reached by hard links is listed under the path rig.yaml names, not the first one found", async () => {
  const linked = await newHome("servers:\n  tiny:\n    runtime: llama.cpp\n    model: models/tiny.gguf\n");
  const models = join(linked.root, "models");
  writeModelGguf(join(models, "tiny.gguf"), { dense: true, name: "tiny" });
  linkSync(join(models, "tiny.gguf"), join(models, "a-hardlink.gguf"));
  const result = await rig(["models", "--json"], { home: linked.root });
  assert.equal(result.code, 0, result.stderr);
  const entries = JSON.parse(result.stdout) as Entry[];
  assert.deepEqual(
    entries.map((entry) => [entry.path, entry.links, entry.referenced_by]),
    [[join(models, "tiny.gguf"), [join(models, "a-hardlink.gguf")], ["tiny"]]],
  );
});

test("rig models --dups groups copies, keeps the referenced one and counts the reclaimable bytes", async () => {
  const result = await rig(["models", "--dups", "--json"], { home: home.root });
  assert.equal(result.code, 0, result.stderr);
  const groups: { keep: string; copies: string[]; reclaimable: number; verified: boolean }[] = JSON.parse(
    result.stdout,
  );
  const qwen = groups.find((group) => group.keep === join(tree, "models", "qwen-7b.gguf"))!;
  assert.equal(qwen.copies.length, 2);
  assert.equal(qwen.reclaimable, 2 * statSync(qwen.keep).size);
  assert.equal(qwen.verified, false);
  const ft = groups.find((group) => group.keep === join(tree, "models", "ft-a.gguf"));
  assert.ok(ft, "files that differ only between the samples look alike until verified");

  const text = await rig(["models", "--dups"], { home: home.root });
  assert.match(text.stdout, /reclaimable/);
  assert.match(text.stdout, /keep {2}.*qwen-7b\.gguf {2}\(used by qwen\)/);
  assert.match(text.stdout, /--verify to confirm/);
});

test("rig models --verify confirms by full sha256 and names a blob whose bytes do not match its name", async () => {
  const result = await rig(["models", "--dups", "--verify", "--json"], { home: home.root });
  assert.equal(result.code, 0, result.stderr);
  const groups: { keep: string; copies: string[]; verified: boolean }[] = JSON.parse(result.stdout);
  assert.ok(groups.every((group) => group.verified));
  assert.ok(!groups.some((group) => group.keep.endsWith("ft-a.gguf")), "the near-twin is not a duplicate");
  assert.ok(groups.some((group) => group.keep.endsWith("qwen-7b.gguf") && group.copies.length === 2));
  assert.match(result.stderr, /corrupt: .*models--Org--FT\/blobs\/[0-9a-f]{64}: its sha256 is/);
});

test("rig models --check names the profile whose file moved, where it went, and the unused models", async () => {
  const result = await rig(["models", "--check"], { home: home.root });
  assert.equal(result.code, 1);
  assert.match(
    result.stdout,
    /rig\.yaml:13:12: error: server `gone` points at .*models\/moved\.gguf, which is not there; a model of that name is at .*\.lmstudio\/models\/pub\/old\/moved\.gguf/,
  );
  assert.match(result.stdout, /models no profile uses/);
  assert.match(result.stdout, /ft-a\.gguf/);
  const json = JSON.parse((await rig(["models", "--check", "--json"], { home: home.root })).stdout);
  assert.deepEqual(
    json.missing.map((gone: { server: string }) => gone.server),
    ["gone"],
  );
  assert.ok(
    !json.unused.some((model: { path: string }) => model.path === join(tree, "models", "qwen-7b.gguf")),
  );

  home.write("rig.yaml", readFileSync(join(home.root, "rig.yaml"), "utf8").replace(/ {2}gone:[\s\S]*$/, ""));
  const fixed = await rig(["models", "--check"], { home: home.root });
  assert.equal(fixed.code, 0, fixed.stdout);
});

test("rig models on the human table shows copies and the reclaimable total", async () => {
  const result = await rig(["models"], { home: home.root });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^MODEL +FORMAT +ARCH +PARAMS +QUANT +CONTEXT +SIZE +USED BY/m);
  assert.match(result.stdout, /tiny:latest/);
  assert.match(result.stdout, /copy of .*qwen-7b\.gguf/);
  assert.match(result.stdout, /duplicate cop(y|ies), .* reclaimable \(rig models --dups\)/);
});
