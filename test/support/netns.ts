// Separate hosts on one machine: a network namespace per host, each with one veth link to a bridge that
// lives in a namespace of its own, so no address or link is ever added to the machine's own network.
// Every name starts with the test's prefix and everything is removed by `close()` (and on exit).
import { type ChildProcess, execFileSync, type SpawnOptions, spawn, spawnSync } from "node:child_process";

export interface Host {
  /** The namespace's name (`ip netns exec <ns> …`). */
  ns: string;
  /** The host's address on the shared link. */
  address: string;
}

export interface Network {
  hosts: Host[];
  /** Runs argv inside the host's namespace, as a child process the caller owns (leading its own process group). */
  spawn(host: Host, argv: string[], options?: SpawnOptions): ChildProcess;
  /** Runs argv inside the host's namespace to its end (bounded by `timeoutMs`). */
  run(
    host: Host,
    argv: string[],
    options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string },
  ): {
    status: number | null;
    stdout: string;
    stderr: string;
  };
  /** Cuts a host off the link (its process keeps running, as a machine whose cable was pulled). */
  unplug(host: Host): void;
  close(): void;
}

/** Why namespaces cannot be made here (not root, no `ip`), or undefined when they can. */
export function namespacesUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "network namespaces need root";
  const probe = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0)
    return `\`ip netns\` does not run here: ${probe.error?.message ?? probe.stderr}`;
  return undefined;
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

let networks = 0;

/** Makes `count` hosts on one /24 (10.<subnet>.0.1 …), reachable from each other only. */
export function makeNetwork(count: number): Network {
  networks++;
  const prefix = `rigt${process.pid % 100000}n${networks}`;
  const subnet = 64 + ((process.pid + networks) % 128);
  const sw = `${prefix}-sw`;
  const made: string[] = [];
  const children = new Set<ChildProcess>();
  const close = () => {
    // Each child leads its own process group: what it started (rpc-server under `rig worker run`) goes too.
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
      }
    for (const ns of made.reverse()) spawnSync("ip", ["netns", "del", ns]);
    made.length = 0;
    process.off("exit", close);
  };
  process.on("exit", close);
  try {
    ip("netns", "add", sw);
    made.push(sw);
    ip("-n", sw, "link", "add", "br0", "type", "bridge");
    ip("-n", sw, "link", "set", "br0", "up");
    const hosts: Host[] = [];
    for (let index = 0; index < count; index++) {
      const ns = `${prefix}-h${index}`;
      ip("netns", "add", ns);
      made.push(ns);
      const inside = `${prefix}h${index}a`;
      const outside = `${prefix}h${index}b`;
      ip("link", "add", inside, "type", "veth", "peer", "name", outside);
      ip("link", "set", inside, "netns", ns);
      ip("link", "set", outside, "netns", sw);
      ip("-n", sw, "link", "set", outside, "master", "br0", "up");
      ip("-n", ns, "link", "set", inside, "name", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", ns, "link", "set", "lo", "up");
      const address = `10.${subnet}.0.${index + 1}`;
      ip("-n", ns, "addr", "add", `${address}/24`, "dev", "eth0");
      hosts.push({ ns, address });
    }
    return {
      hosts,
      spawn(host, argv, options = {}) {
        const child = spawn("ip", ["netns", "exec", host.ns, ...argv], { ...options, detached: true });
        children.add(child);
        child.once("exit", () => children.delete(child));
        return child;
      },
      run(host, argv, options = {}) {
        const result = spawnSync("ip", ["netns", "exec", host.ns, ...argv], {
          encoding: "utf8",
          env: options.env,
          input: options.input,
          timeout: options.timeoutMs ?? 60_000,
          killSignal: "SIGKILL",
        });
        return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
      },
      unplug(host) {
        ip("-n", host.ns, "link", "set", "eth0", "down");
      },
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}
