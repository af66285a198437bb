import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A secret of a rig home kept in its state folder, or undefined when there is none yet. */
export function readHomeSecret(stateDir: string, file: string): string | undefined {
  try {
    return readFileSync(join(stateDir, file), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The home's secret in `file`, created (random, readable by its owner only) when there is none. */
export function ensureHomeSecret(stateDir: string, file: string): string {
  const existing = readHomeSecret(stateDir, file);
  if (existing) return existing;
  const secret = randomBytes(24).toString("base64url");
  try {
    // Created exclusively: of two daemons starting at once, both end up with the first one's secret.
    writeFileSync(join(stateDir, file), `${secret}\n`, { mode: 0o600, flag: "wx" });
    return secret;
  } catch (error) {
    const written = (error as NodeJS.ErrnoException).code === "EEXIST" && readHomeSecret(stateDir, file);
    if (written) return written;
    throw error;
  }
}
