import { defineCommand } from "citty";
import { formatSize } from "../config/duration.ts";
import { configPathOf } from "../config/home.ts";
import { formatProblem } from "../config/problems.ts";
import { findDuplicates } from "../inventory/duplicates.ts";
import { formatParams } from "../inventory/formats.ts";
import { missingModels, namedModelPaths, referencesOf } from "../inventory/references.ts";
import { type FoundModel, scanModels } from "../inventory/scan.ts";
import { readModelShape } from "../memory/shape.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson } from "./common.ts";
import { progress } from "./progress.ts";
import { table } from "./table.ts";

/** What loading its weights takes, from the headers rig already reads; null when they cannot be read. */
function weightsBytes(model: FoundModel): number | null {
  if (model.error) return null;
  try {
    return readModelShape(model.path).tensors.reduce((sum, tensor) => sum + tensor.bytes, 0);
  } catch {
    return null;
  }
}

/** Progress that stays silent for scans that finish within a second. */
function quietProgress(label: string) {
  const started = Date.now();
  const bar = progress(label, 5_000);
  let shown = false;
  return {
    update(message: string) {
      if (Date.now() - started < 1_000) return;
      shown = true;
      bar.update(message, label);
    },
    done(message: string) {
      if (shown) bar.done(message);
    },
  };
}

export default defineCommand({
  meta: {
    name: "models",
    description:
      "inventory of model files under paths.models (GGUF, MLX/safetensors, the Hugging Face cache, LM Studio, Ollama)",
  },
  args: {
    dups: { type: "boolean", description: "list copies of the same weights and the bytes they waste" },
    check: {
      type: "boolean",
      description: "profiles whose model is missing (exit 1) and models no profile uses",
    },
    verify: { type: "boolean", description: "confirm duplicates with a full sha256 (reads every byte)" },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args }) {
    const config = await loadOrExit(args.home, { positions: Boolean(args.check) });
    const short = (path: string) => configPathOf(path, config.home.root);
    const scanning = quietProgress("scanning");
    const models = scanModels(config.paths.models, {
      onProgress: (seen) => scanning.update(`${seen} entries looked at (headers only)`),
      named: namedModelPaths(config),
    });
    scanning.done(`${models.length} models`);
    const references = referencesOf(config, models);
    const hashing = quietProgress("verifying");
    const { groups, corrupt } = await findDuplicates(models, {
      verify: Boolean(args.verify),
      isReferenced: (model) => references.get(model)!.length > 0,
      onHashProgress: (done, total) =>
        hashing.update(`${formatSize(done)} of ${formatSize(total)} (${Math.floor((done / total) * 100)}%)`),
    });
    hashing.done(`${groups.length} duplicate groups confirmed`);
    const keptBy = new Map<FoundModel, FoundModel>();
    for (const group of groups) for (const copy of group.copies) keptBy.set(copy, group.keep);
    const reclaimable = groups.reduce((sum, group) => sum + group.reclaimable, 0);
    for (const file of corrupt)
      process.stderr.write(
        `${pc.red("corrupt:")} ${file.path}: its sha256 is ${file.actual}, its name says ${file.expected}; download it again\n`,
      );

    if (args.check) return check();
    if (args.dups) return dups();
    const entries = models.map((model) => ({
      path: model.path,
      name: model.name,
      source: model.source,
      format: model.format,
      arch: model.facts.arch ?? null,
      params: model.facts.params ?? null,
      quant: model.facts.quant ?? null,
      context: model.facts.context ?? null,
      size: model.size,
      weights_bytes: weightsBytes(model),
      files: model.files.length,
      referenced_by: references.get(model)!,
      duplicate_of: keptBy.get(model)?.path ?? null,
      links: model.links,
      error: model.error ?? null,
    }));
    if (args.json) return printJson(entries);
    if (models.length === 0) {
      process.stdout.write(
        `no models under ${config.paths.models.map(short).join(", ")} (paths.models in ${short(config.files[0]!)})\n`,
      );
      return;
    }
    process.stdout.write(
      `${table(
        ["model", "format", "arch", "params", "quant", "context", "size", "used by"],
        entries.map((entry) => [
          `${entry.source === "ollama" ? `${entry.name} ${pc.dim(short(entry.path))}` : short(entry.path)}${
            entry.duplicate_of ? pc.yellow(`  copy of ${short(entry.duplicate_of)}`) : ""
          }${entry.links.length ? pc.dim(`  +${entry.links.length} links`) : ""}${entry.error ? pc.red(`  unreadable: ${entry.error}`) : ""}`,
          entry.format,
          entry.arch,
          formatParams(entry.params ?? undefined),
          entry.quant,
          entry.context,
          formatSize(entry.size),
          entry.referenced_by.join(",") || pc.dim("-"),
        ]),
      )}\n`,
    );
    const total = models.reduce((sum, model) => sum + model.size, 0);
    process.stdout.write(
      pc.dim(
        `${models.length} models, ${formatSize(total)}${
          groups.length
            ? `; ${keptBy.size} duplicate ${keptBy.size === 1 ? "copy" : "copies"}, ${formatSize(reclaimable)} reclaimable (rig models --dups)`
            : ""
        }\n`,
      ),
    );

    function dups() {
      const rows = groups.map((group) => ({
        keep: group.keep.path,
        copies: group.copies.map((copy) => copy.path),
        size: group.keep.size,
        reclaimable: group.reclaimable,
        verified: group.verified,
        referenced_by: Object.fromEntries(
          [group.keep, ...group.copies].map((model) => [model.path, references.get(model)!]),
        ),
      }));
      if (args.json) return printJson(rows);
      if (!groups.length) {
        process.stdout.write("no duplicates\n");
        return;
      }
      for (const group of groups) {
        const used = (model: FoundModel) =>
          references.get(model)!.length ? pc.dim(`  (used by ${references.get(model)!.join(", ")})`) : "";
        process.stdout.write(
          [
            `${pc.bold(group.keep.name)} ${formatSize(group.keep.size)} × ${group.copies.length + 1}, ${pc.yellow(
              `${formatSize(group.reclaimable)} reclaimable`,
            )} ${pc.dim(group.verified ? "(sha256 verified)" : "(sampled hashes; --verify to confirm)")}`,
            `  keep  ${short(group.keep.path)}${used(group.keep)}`,
            ...group.copies.map((copy) => `  copy  ${short(copy.path)}${used(copy)}`),
            "",
          ].join("\n"),
        );
      }
      process.stdout.write(`${formatSize(reclaimable)} reclaimable in total\n`);
    }

    function check() {
      const missing = missingModels(config, models);
      const unused = models.filter((model) => references.get(model)!.length === 0);
      if (missing.length) process.exitCode = 1;
      if (args.json)
        return printJson({
          missing,
          unused: unused.map((model) => ({ path: model.path, size: model.size })),
        });
      for (const gone of missing)
        process.stdout.write(
          `${formatProblem({
            level: "error",
            code: "model-missing",
            message: `server \`${gone.server}\` points at ${short(gone.model)}, which is not there${
              gone.candidates.length
                ? `; a model of that name is at ${gone.candidates.map(short).join(", ")}`
                : ""
            }`,
            where: gone.where,
          })}\n`,
        );
      if (unused.length) {
        process.stdout.write(
          `${pc.bold("models no profile uses")} ${pc.dim(`(${formatSize(unused.reduce((sum, model) => sum + model.size, 0))})`)}\n`,
        );
        for (const model of unused)
          process.stdout.write(`  ${short(model.path)}  ${pc.dim(formatSize(model.size))}\n`);
      }
      if (!missing.length)
        process.stdout.write(`${pc.green("ok")} every profile's model is where rig.yaml says\n`);
    }
  },
});
