import { basename } from "node:path";

// What a service that runs a home's gateway, or a worker's rpc-server, needs, whatever runs it (systemd,
// launchd): data in, data out; the CLI gathers the facts (its own node and script, the environment) and
// writes the files.

/** The first line of every file `rig service install` writes: a file without it is never touched. */
export const SERVICE_MARKER = "Written by rig service install";
/** The same for `rig worker install`. */
export const WORKER_MARKER = "Written by rig worker install";

/** Whether rig wrote this service file (for any home or worker): only those are replaced or removed. */
export function writtenByRig(text: string): boolean {
  return text.includes(SERVICE_MARKER) || text.includes(WORKER_MARKER);
}

/**
 * Variables passed on when set where `rig service install` runs: where rig's cache and the model hubs
 * are, which libraries and devices the runtimes use. A service starts with almost no environment.
 */
export const PASSED_THROUGH = [
  "RIG_CACHE",
  "XDG_CACHE_HOME",
  "HF_HOME",
  "HF_HUB_CACHE",
  "LD_LIBRARY_PATH",
  "DYLD_LIBRARY_PATH",
  "CUDA_VISIBLE_DEVICES",
  "HIP_VISIBLE_DEVICES",
] as const;

interface CommonSpec {
  /** The service's own name: the unit is `rig-<name>.service`, the launchd label `rig.<name>`. */
  name: string;
  /** What it runs, in a few words: the unit's Description, and the files' first comment. */
  title: string;
  /** The whole command: node, its flags, rig's script, `gateway run --home <home>` or `worker run …`. */
  argv: string[];
  /** Written into the unit or plist: PATH, the variables passed through, rig's own. */
  env: Record<string, string>;
  /**
   * The variables rig.yaml references (`${env:NAME}`): they may hold keys, so they live in a file only
   * the user can read (systemd) or in a plist only the user can read (launchd).
   */
  secretEnv: Record<string, string>;
  /** What launchd writes the daemon's stdout and stderr to (systemd keeps them in the journal). */
  logFile: string;
}

/** A home's gateway (`rig service`): the home is its working directory and tells which home a file runs. */
export interface GatewaySpec extends CommonSpec {
  role: "gateway";
  home: string;
}

/** A worker's rpc-server (`rig worker install`): no home; the files' first comment tells whose it is. */
export interface WorkerSpec extends CommonSpec {
  role: "worker";
}

export type ServiceSpec = GatewaySpec | WorkerSpec;

/** The line every file for this service begins with (after the comment sign). */
export function headline(spec: ServiceSpec): string {
  return `${spec.role === "gateway" ? SERVICE_MARKER : WORKER_MARKER}: the ${spec.title}`;
}

/** The command that writes, rewrites and removes the files: `rig service`, `rig worker`. */
export function writerCommand(spec: ServiceSpec): string {
  return spec.role === "gateway" ? "rig service" : "rig worker";
}

export interface SpecInput {
  home: string;
  /** `--name`, else derived from the home folder's name. */
  name?: string;
  /** The node running rig now, and rig's script: the service runs the same rig. */
  node: string;
  script: string;
  logFile: string;
  env: NodeJS.ProcessEnv;
  /** Names rig.yaml references as `${env:NAME}`. */
  referenced: string[];
}

/** `~/local-llm` → `local-llm`: a name systemd and launchd both take. */
export function serviceName(home: string): string {
  return (
    basename(home)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "home"
  );
}

function picked(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    names.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name]!] as [string, string]])),
  );
}

export function serviceSpec(input: SpecInput): GatewaySpec {
  return {
    role: "gateway",
    name: input.name ?? serviceName(input.home),
    title: `rig gateway for ${input.home}`,
    home: input.home,
    // The flag `rig gateway start` gives the daemon: a small young generation keeps its memory flat.
    argv: [input.node, "--max-semi-space-size=4", input.script, "gateway", "run", "--home", input.home],
    env: {
      PATH: input.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      ...picked(input.env, PASSED_THROUGH),
      // The daemon writes logs/gateway.log itself; this keeps it from echoing every line to stdout too.
      RIG_DAEMON: "1",
    },
    secretEnv: picked(input.env, input.referenced),
    logFile: input.logFile,
  };
}

export interface WorkerSpecInput {
  port: number;
  /** The arguments of `rig worker run`, as the CLI checked and wrote them. */
  args: string[];
  node: string;
  script: string;
  logFile: string;
  env: NodeJS.ProcessEnv;
}

/** The worker's service name: one per port, as only one worker can listen on a port. */
export function workerServiceName(port: number): string {
  return `worker-${port}`;
}

/** A service running `rig worker run` with these options (which the CLI has checked). */
export function workerServiceSpec(input: WorkerSpecInput): WorkerSpec {
  return {
    role: "worker",
    name: workerServiceName(input.port),
    title: `rig worker (llama.cpp rpc-server) on port ${input.port}`,
    argv: [input.node, input.script, "worker", "run", ...input.args],
    // rpc-server is found on PATH or in rig's cache, and sees the devices CUDA_VISIBLE_DEVICES leaves it.
    env: { PATH: input.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", ...picked(input.env, PASSED_THROUGH) },
    secretEnv: {},
    logFile: input.logFile,
  };
}

/** The variable names behind `${env:NAME}` references, as the config records them. */
export function referencedNames(references: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const reference of references)
    for (const match of reference.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(match[1]!);
  return [...names].sort();
}
