import { ensureHomeSecret, readHomeSecret } from "../system/home-secrets.ts";

// The per-home admin token: the daemon creates it, the CLI reads it and sends it on admin routes that
// change state, so a web page that can reach the port still cannot stop servers or the daemon.

const FILE = "admin.token";

export function readAdminToken(stateDir: string): string | undefined {
  return readHomeSecret(stateDir, FILE);
}

/** The home's token, created (readable by its owner only) when there is none. */
export function ensureAdminToken(stateDir: string): string {
  return ensureHomeSecret(stateDir, FILE);
}
