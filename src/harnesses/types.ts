import type { Dialect } from "../runtimes/types.ts";

/** Everything a harness adapter needs to point one agent CLI at rig's gateway. */
export interface HarnessInput {
  agent: string;
  /** The agent's pinned gateway base, e.g. http://127.0.0.1:7878/agents/claude-qwen (no /v1). */
  baseUrl: string;
  /** The model name the agent is configured with. */
  model: string;
  /** The server's context window, when the profile states it. */
  context?: number;
  /** The gateway's API key, when one is required. */
  apiKey?: string;
  /** A folder under the home's state/ that rig owns: harness files go here, never in the user's config. */
  stateDir: string;
  /** The executable argv (`harnesses.<name>.command` or the default). */
  command: string[];
}

export interface HarnessFile {
  path: string;
  content: string;
  /** It holds the gateway's key: written readable by its owner only (0600). */
  secret?: boolean;
}

export interface HarnessLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Files rig writes (under stateDir) before starting the agent. */
  files: HarnessFile[];
}

/** A coding agent CLI: a pure description of how to point it at rig's gateway. */
export interface HarnessAdapter {
  name: string;
  label: string;
  /** Executable argv prefix used when `harnesses.<name>.command` is not set. */
  defaultCommand: string[];
  /** The API dialect the agent speaks to its model endpoint. */
  dialect: Dialect;
  launch(input: HarnessInput): HarnessLaunch;
}

/** Output tokens to allow an agent: a quarter of the context, within what agents accept. */
export function maxOutputTokens(context: number | undefined): number {
  return context ? Math.max(1024, Math.min(32_000, Math.floor(context / 4))) : 8192;
}

/** The key an agent must send: the gateway's, or a placeholder the agents insist on having. */
export function agentKey(input: HarnessInput): string {
  return input.apiKey ?? "rig-local";
}
