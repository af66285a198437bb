// Installs the real agent CLIs the tests drive into rig's cache (never as dependencies of this repo:
// together they weigh about a gigabyte), at the versions pinned in src/install/agents.ts: the one list
// `rig install <agent>` reads too. Idempotent: a version already installed is kept, and nothing is
// printed when everything is there. tsx (a dev dependency) loads the TypeScript, so this runs before
// or after `npm run build` alike.
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { tsImport } from "tsx/esm/api";

const agents = await tsImport("../src/install/agents.ts", import.meta.url);

/** name → `{ spec: "<package>@<version>", bin }`, as the tests and scripts/record-fixtures.mjs read it. */
export const AGENTS = Object.fromEntries(
  Object.entries(agents.AGENT_PINS).map(([name, pin]) => [
    name,
    { spec: `${pin.package}@${pin.version}`, bin: pin.bin },
  ]),
);

export const agentsDir = agents.agentsDir;
export const agentBin = agents.agentBin;

/**
 * Installs each agent that is not in the cache yet. An agent whose package downloads from outside the
 * npm registry (its pin says what) may fail where that host is unreachable: that is reported, and its
 * tests skip; any other failure stops the run. Each install says how long it took and what it weighs.
 */
export async function installAgents(names = Object.keys(AGENTS)) {
  for (const name of names) {
    if (!AGENTS[name]) throw new Error(`no pinned agent ${name} (pinned: ${Object.keys(AGENTS).join(", ")})`);
    if (existsSync(agentBin(name))) continue;
    console.error(`installing ${AGENTS[name].spec} into ${agentsDir()}`);
    const started = performance.now();
    try {
      await agents.installAgent(name);
    } catch (error) {
      const downloads = agents.AGENT_PINS[name].downloads;
      if (!downloads) throw error;
      console.error(`could not install ${name} (its install downloads ${downloads}); its tests are skipped:`);
      const lines = error.message.split("\n");
      console.error(`  ${lines.findLast((line) => /Error:/.test(line)) ?? lines[0]}`);
      continue;
    }
    const seconds = (performance.now() - started) / 1000;
    const megabytes = folderBytes(dirname(dirname(dirname(agentBin(name))))) / 1e6;
    console.error(`installed ${name} in ${seconds.toFixed(1)} s (${megabytes.toFixed(0)} MB)`);
  }
}

function folderBytes(path) {
  let bytes = 0;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).size;
  return bytes;
}

if (import.meta.url === `file://${process.argv[1]}`)
  await installAgents(process.argv.length > 2 ? process.argv.slice(2) : undefined);
