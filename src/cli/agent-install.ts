import { readFileSync } from "node:fs";
import { isNode, parseDocument } from "yaml";
import { insertEntry, type Section, writeConfigAtomically } from "../config/editor.ts";
import { configPathOf } from "../config/home.ts";
import { type Config, loadConfig } from "../config/loader.ts";
import { formatWhere } from "../config/problems.ts";
import { AGENT_PINS, type AgentInstall, installAgent } from "../install/agents.ts";
import { RigError } from "./errors.ts";
import { progress } from "./progress.ts";

// What `rig install <agent>` and `rig demo` share: the install with its progress line, and pointing
// `harnesses.<name>.command` at the installed CLI.

/** Installs the verified version (a no-op when it is in the cache), showing npm's progress on stderr. */
export async function installAgentWithProgress(name: string): Promise<AgentInstall> {
  const pin = AGENT_PINS[name]!;
  const spec = `${pin.package}@${pin.version}`;
  const bar = progress(name);
  try {
    const result = await installAgent(name, { onProgress: (message) => bar.update(message, "npm") });
    bar.done(result.cached ? `${pin.version} is in rig's cache` : `installed ${spec}`);
    return result;
  } catch (error) {
    bar.fail("install failed");
    throw new RigError(`could not install ${spec}: ${(error as Error).message}`);
  }
}

export interface PointedHarness {
  file: string;
  key: string;
  /** The command rig.yaml named before, when it named one. */
  previous?: string[];
  changed: boolean;
  backup?: string;
}

/** rig.yaml's text with `harnesses.<harness>.command` set to `command`; every other byte is kept. */
export function withHarnessCommand(text: string, harness: string, command: string): string {
  const current = parseDocument(text).getIn(["harnesses", harness, "command"], true);
  if (isNode(current) && current.range) {
    const [start, end] = current.range;
    return `${text.slice(0, start)}${JSON.stringify(command)}${text.slice(end)}`;
  }
  // The editor inserts into any top-level mapping; its Section type names only what `rig add` writes.
  return insertEntry(text, "harnesses" as Section, harness, { command });
}

/**
 * Points `harnesses.<harness>.command` in rig.yaml at `executable` (written `~/…` under the user's
 * home), validated before it is written, with a backup. Nothing is written when it already points there.
 */
export async function pointHarness(
  config: Config,
  harness: string,
  executable: string,
): Promise<PointedHarness> {
  const key = `harnesses.${harness}.command`;
  const file = config.files[0]!;
  const previous = config.harnesses[harness]?.command;
  if (previous?.length === 1 && previous[0] === executable) return { file, key, previous, changed: false };
  const where = config.where(["harnesses", harness]);
  if (previous && where.file !== file)
    throw new RigError(
      `${key} is set in ${formatWhere(where)}; rig edits only ${file}: point it at ${executable} there`,
    );
  const before = readFileSync(file, "utf8");
  let text: string;
  try {
    text = withHarnessCommand(before, harness, configPathOf(executable, config.home.root));
  } catch (error) {
    throw new RigError((error as Error).message);
  }
  await loadConfig({ home: config.home.root, text });
  const { backup } = writeConfigAtomically(file, before, text);
  return { file, key, previous, changed: true, backup };
}
