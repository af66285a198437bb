import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// The per-home admin token: the daemon creates it, the CLI reads it and sends it on admin routes that
// change state, so a web page that can reach the port still cannot stop servers or the daemon.

const FILE = "admin.token";

export function readAdminToken(stateDir: string): string | undefined {
  try {
    return readFileSync(join(stateDir, FILE), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The home's token, created (readable by its owner only) when there is none. */
export function ensureAdminToken(stateDir: string): string {
  const existing = readAdminToken(stateDir);
  if (existing) return existing;
  const token = randomBytes(24).toString("base64url");
  writeFileSync(join(stateDir, FILE), `${token}\n`, { mode: 0o600 });
  return token;
}
