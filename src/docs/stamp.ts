import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import type { Config } from "../config/loader.ts";

// Kept apart from the generators so every command can ask "are the docs current?" for the price of
// one small read.

function stampFile(config: Config): string {
  return join(config.home.state, "docs.stamp");
}

const stampOf = (config: Config) => `${packageJson.version} ${config.hash}\n`;

export function writeStamp(config: Config): void {
  try {
    mkdirSync(config.home.state, { recursive: true });
    writeFileSync(stampFile(config), stampOf(config));
  } catch {}
}

/** True when the docs were last written from another config (or another rig): time to regenerate. */
export function docsStale(config: Config): boolean {
  return !existsSync(config.home.docs) || readStamp(config) !== stampOf(config);
}

function readStamp(config: Config): string | undefined {
  try {
    return readFileSync(stampFile(config), "utf8");
  } catch {
    return undefined;
  }
}
