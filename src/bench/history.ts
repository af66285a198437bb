import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config, Server } from "../config/loader.ts";
import { fingerprint } from "../inventory/fingerprint.ts";
import { type BenchRecord, type BenchRow, Ledger } from "../ledger/ledger.ts";
import { modelIsPath, runtimeFor } from "../runtimes/index.ts";
import type { BenchResults, BenchSettings, StoredRun } from "./report.ts";

/**
 * Bench runs from the home's ledger, opened read-only (the daemon writes it); none when there is no
 * ledger yet, or one written before rig kept bench runs.
 */
export function readBenchRuns(state: string, read: (ledger: Ledger) => BenchRow[]): BenchRow[] {
  const file = join(state, "rig.db");
  if (!existsSync(file)) return [];
  let ledger: Ledger | undefined;
  try {
    ledger = new Ledger(file, { readonly: true });
    return read(ledger);
  } catch {
    return [];
  } finally {
    ledger?.close();
  }
}

export function storedRun(row: BenchRow): StoredRun {
  return {
    at: row.at,
    profile_hash: row.profile_hash,
    settings: row.settings as BenchSettings,
    results: row.results as BenchResults,
  };
}

/**
 * The ledger rows of a run, one per server measured (a `--vary` run is its one server's): each with its
 * own runtime, build, profile and model file, and the run's settings and figures, so every server's
 * history and docs show the comparison it was part of.
 */
export function benchRecords(
  config: Config,
  servers: readonly Server[],
  versions: ReadonlyMap<string, string | null>,
  run: { machine: unknown; settings: BenchSettings; results: BenchResults },
): BenchRecord[] {
  return servers.map((server) => ({
    server: server.name,
    runtime: server.runtime,
    runtimeVersion: versions.get(server.name) ?? null,
    configHash: config.hash,
    profileHash: server.profileHash,
    modelFingerprint: modelIsPath(runtimeFor(server.runtime), server.modelPath)
      ? fingerprint(server.modelPath)
      : undefined,
    ...run,
  }));
}

/** A side-by-side run as `--json` prints it: each server's own facts and ledger id, then the run once. */
export function sideBySideJson(records: readonly BenchRecord[], ids: ReadonlyArray<number | null>) {
  const { machine, settings, results } = records[0]!;
  return {
    servers: records.map(({ machine: _machine, settings: _settings, results: _results, ...own }, index) => ({
      ...own,
      id: ids[index] ?? null,
    })),
    machine,
    settings,
    results,
  };
}
