import type { Config } from "../config/loader.ts";
import { findServer } from "../config/loader.ts";
import { shellQuote } from "../system/shell.ts";

/** Every file rig writes into paths.bin carries this line; a file without it is never touched. */
export const SHIM_MARKER = "# rig shim: written by `rig shims sync`; change rig.yaml, not this file";
export const WRAPPERS_FILE = "WRAPPERS.md";
const WRAPPERS_MARKER = "<!-- written by rig shims sync -->";

/**
 * The shim for one agent: a one-word command that runs the agent through rig, in the home it was
 * written from (whatever RIG_HOME says at the time), with every word after it passed to the agent.
 */
export function shimText(rig: string[], home: string, agent: string): string {
  return `#!/bin/sh\n${SHIM_MARKER}\nexec ${[...rig, "run", "--home", home, agent].map(shellQuote).join(" ")} -- "$@"\n`;
}

export function isRigFile(content: string): boolean {
  return content.includes(SHIM_MARKER) || content.includes(WRAPPERS_MARKER);
}

/** WRAPPERS.md: shim → agent → harness → server → model, for whoever opens the folder. */
export function wrappersText(config: Config): string {
  const rows = Object.values(config.agents).map((agent) => {
    const server = findServer(config, agent.server);
    return `| \`${agent.name}\` | ${agent.harness} | ${server?.name ?? agent.server} | ${server?.runtime ?? ""} | ${server?.modelPath ?? server?.url ?? ""} |`;
  });
  return [
    WRAPPERS_MARKER,
    "# rig wrappers",
    "",
    `Each command here runs one coding agent against its model through rig's gateway. Edit ${config.files[0]} and run \`rig shims sync\`.`,
    "",
    "| command | harness | server | runtime | model |",
    "|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

export type ShimAction =
  | { kind: "write"; path: string; content: string; agent?: string; reason: "new" | "changed" }
  | { kind: "keep"; path: string; agent: string }
  | { kind: "remove"; path: string; name: string }
  | { kind: "foreign"; path: string; agent: string };

/**
 * What `rig shims sync` must do, given the files now in paths.bin (name → content): write new or
 * changed shims, remove rig's shims of agents that are gone, and report files rig did not write.
 */
export function planShims(
  config: Config,
  rig: string[],
  existing: Map<string, string>,
  join: (name: string) => string,
): ShimAction[] {
  const actions: ShimAction[] = [];
  for (const agent of Object.keys(config.agents)) {
    const path = join(agent);
    const wanted = shimText(rig, config.home.root, agent);
    const current = existing.get(agent);
    if (current === undefined) actions.push({ kind: "write", path, content: wanted, agent, reason: "new" });
    else if (!isRigFile(current)) actions.push({ kind: "foreign", path, agent });
    else if (current !== wanted)
      actions.push({ kind: "write", path, content: wanted, agent, reason: "changed" });
    else actions.push({ kind: "keep", path, agent });
  }
  for (const [name, content] of existing) {
    if (name !== WRAPPERS_FILE && !config.agents[name] && content.includes(SHIM_MARKER))
      actions.push({ kind: "remove", path: join(name), name });
  }
  const wrappers = existing.get(WRAPPERS_FILE);
  const wrappersWanted = wrappersText(config);
  if (wrappers === undefined || (isRigFile(wrappers) && wrappers !== wrappersWanted)) {
    actions.push({
      kind: "write",
      path: join(WRAPPERS_FILE),
      content: wrappersWanted,
      reason: wrappers === undefined ? "new" : "changed",
    });
  }
  return actions;
}
