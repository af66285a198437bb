import type { Dialect } from "../runtimes/types.ts";

/** A coding agent CLI: a pure description of how to point it at rig's gateway. */
export interface HarnessAdapter {
  name: string;
  label: string;
  /** Executable argv prefix used when `harnesses.<name>.command` is not set. */
  defaultCommand: string[];
  /** The API dialect the agent speaks to its model endpoint. */
  dialect: Dialect;
}
