import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { managerFor, type ServiceFile, type ServiceManager, type ServicePlan } from "../service/index.ts";
import { writtenByRig } from "../service/spec.ts";
import { writeFileAtomic } from "../system/atomic-write.ts";
import { shellLine } from "../system/shell.ts";
import { pc } from "./colors.ts";
import { printJson, RigError } from "./common.ts";

// The effects `rig service` and `rig worker install|uninstall|status` share: reading, writing and removing
// the files a ServicePlan names, and asking the service manager.

export const dryRunArg = {
  "dry-run": { type: "boolean", description: "print what would be written or removed, change nothing" },
} as const;

/**
 * The service manager of this platform; elsewhere `command` refuses, and says to run `foreground`
 * (the command it would have installed) under the user's own supervisor.
 */
export function serviceManager(command: string, foreground: string): ServiceManager {
  const found = managerFor(process.platform);
  if (!found)
    throw new RigError(
      `${command} writes systemd (Linux) and launchd (macOS) services; on ${process.platform}, run \`${foreground}\` under your own supervisor`,
    );
  return found;
}

export interface OnDisk {
  text: string;
  /** rig wrote it (for some home or worker). */
  ours: boolean;
  /** It carries the plan's identity: it runs this home, or is this worker's. */
  same: boolean;
}

/** The service file as it is on disk, and whose it is. */
export function onDisk(plan: ServicePlan): OnDisk | undefined {
  if (!existsSync(plan.service.path)) return undefined;
  const text = readFileSync(plan.service.path, "utf8");
  return { text, ours: writtenByRig(text), same: text.includes(plan.identity) };
}

/**
 * Refuses to replace or remove a file rig did not write (`pick`: how to choose another file), or one
 * rig wrote for something else (`other`: what it is and what to do, after its path).
 */
export function checkOwnership(plan: ServicePlan, messages: { pick: string; other: string }): void {
  const existing = onDisk(plan);
  if (existing && !existing.ours)
    throw new RigError(
      `${plan.service.path} was not written by rig; rig leaves it alone (move it, or ${messages.pick})`,
    );
  if (existing && !existing.same) throw new RigError(`${plan.service.path} ${messages.other}`);
}

/** The plan's files: the unit or plist, and the environment file when there is one. */
export function plannedFiles(plan: ServicePlan): ServiceFile[] {
  return [plan.service, ...(plan.environment ? [plan.environment] : [])];
}

export function writeFiles(files: ServiceFile[]): void {
  for (const file of files) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileAtomic(file.path, file.text, { mode: file.mode });
  }
}

/** The plan's files that exist now: what an uninstall removes. */
export function existingFiles(plan: ServicePlan): string[] {
  return plannedFiles(plan)
    .map((file) => file.path)
    .filter((path) => existsSync(path));
}

function removeFiles(paths: string[]): void {
  for (const path of paths) rmSync(path, { force: true });
}

/** Runs a service manager command; its failure is reported, never fatal (the files are what rig owns). */
export function runManager(argv: string[]): { ok: boolean; message: string } {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 30_000 });
  if (result.error) return { ok: false, message: `${shellLine(argv)}: ${result.error.message}` };
  const output = `${result.stderr ?? ""}${result.stdout ?? ""}`.trim();
  return { ok: result.status === 0, message: `${shellLine(argv)}: ${output || `exit ${result.status}`}` };
}

/**
 * Writes the plan's files and reloads the manager (best effort), then says so: as JSON with the
 * caller's `facts`, else line by line with the caller's `notes` (to stderr) and how to enable it.
 */
export function installService(
  plan: ServicePlan,
  options: { json: boolean; facts: Record<string, unknown>; notes: string[] },
): void {
  const written = plannedFiles(plan);
  writeFiles(written);
  const reload = plan.reload.length ? runManager(plan.reload) : undefined;
  if (options.json) {
    printJson({
      manager: plan.manager,
      written: written.map((file) => file.path),
      enable: shellLine(plan.enable),
      reloaded: reload?.ok ?? null,
      ...options.facts,
    });
    return;
  }
  for (const file of written) process.stdout.write(`${pc.green("wrote")} ${file.path}\n`);
  const notes = [...(reload && !reload.ok ? [reload.message] : []), ...options.notes];
  for (const text of notes) process.stderr.write(`${pc.yellow("note:")} ${text}\n`);
  process.stdout.write(`enable and start it: ${pc.bold(shellLine(plan.enable))}\n`);
}

/**
 * Disables the service and removes its files, or (dry run) says what it would; the caller has checked
 * the files are the plan's. Prints what happened, as JSON when asked.
 */
export function removeService(plan: ServicePlan, options: { dryRun: boolean; json: boolean }): void {
  const removed = existingFiles(plan);
  if (options.dryRun) {
    const lines = [`would run: ${shellLine(plan.unload)}`, ...removed.map((path) => `would remove ${path}`)];
    process.stdout.write(`${lines.join("\n")}\n`);
    return;
  }
  const unload = runManager(plan.unload);
  removeFiles(removed);
  if (plan.reload.length) runManager(plan.reload);
  if (options.json) {
    printJson({ removed, stopped: unload.ok });
    return;
  }
  if (!unload.ok) process.stderr.write(`${pc.yellow("note:")} ${unload.message}\n`);
  for (const path of removed) process.stdout.write(`removed ${path}\n`);
}

/** How `--dry-run` shows a file: its path and mode as a comment, then its text. */
export function shownFile(file: ServiceFile, dim: (text: string) => string): string {
  return `${dim(`# ${file.path} (mode ${file.mode.toString(8)})`)}\n${file.text}`;
}
