import { existsSync } from "node:fs";
import { join } from "node:path";
import { type BenchRow, Ledger } from "../ledger/ledger.ts";
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
