// Installs the real agent CLIs the tests drive into rig's cache (never as dependencies of this repo:
// together they weigh about a gigabyte), at the versions pinned in src/install/agents.ts: the one list
// `rig install <agent>` reads too. Idempotent: a version already installed is kept, and nothing is
// printed when everything is there. tsx (a dev dependency) loads the TypeScript, so this runs before
// or after `npm run build` alike.
import { existsSync } from "node:fs";
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

export async function installAgents(names = Object.keys(AGENTS)) {
  for (const name of names) {
    if (!AGENTS[name]) throw new Error(`no pinned agent ${name} (pinned: ${Object.keys(AGENTS).join(", ")})`);
    if (existsSync(agentBin(name))) continue;
    console.error(`installing ${AGENTS[name].spec} into ${agentsDir()}`);
    await agents.installAgent(name);
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  await installAgents(process.argv.length > 2 ? process.argv.slice(2) : undefined);
