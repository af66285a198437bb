import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { AGENT_PINS } from "../../src/install/agents.ts";

/** An empty rig cache (RIG_CACHE) in a temp folder. */
export function tempCache(): string {
  return mkdtempSync(join(tmpdir(), "rig-cache-"));
}

/**
 * Lays out one agent CLI in `cache` the way npm installs it (the package with its package.json, a
 * nameless package.json in a subfolder, and the bin link), at any version, without the download.
 * Returns the executable.
 */
export function fakeAgentInstall(cache: string, name: string, version: string): string {
  const pin = AGENT_PINS[name]!;
  const prefix = join(cache, "agents", `${name}-${version}`);
  const pkg = join(prefix, "node_modules", pin.package);
  mkdirSync(join(pkg, "dist"), { recursive: true });
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: pin.package, version }));
  writeFileSync(join(pkg, "dist", "package.json"), JSON.stringify({ type: "module" }));
  const script = join(pkg, "dist", "cli.js");
  writeFileSync(script, `#!/bin/sh\necho ${name} ${version}\n`);
  chmodSync(script, 0o755);
  const bin = join(prefix, "node_modules", ".bin");
  mkdirSync(bin, { recursive: true });
  symlinkSync(relative(bin, script), join(bin, pin.bin));
  return join(bin, pin.bin);
}
