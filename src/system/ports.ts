import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { connect, createServer } from "node:net";

/** Whether host:port can be bound right now. */
export async function isPortFree(host: string, port: number): Promise<boolean> {
  return (await listenError(host, port)) === undefined;
}

/** Why listening on host:port fails now (`EADDRINUSE`, `EADDRNOTAVAIL` for an address this machine lacks, …), or undefined. */
export function listenError(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Whether something accepts a TCP connection at host:port within the bound. rpc-server serves one
 * client at a time, but the kernel accepts into its backlog, so a worker busy with a head still answers.
 */
export function answers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** A port the OS considers free on host. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface PortHolder {
  pid: number;
  command: string;
}

/** Who listens on a TCP port, read from /proc (Linux); undefined where that cannot be told. */
export function portHolder(port: number): PortHolder | undefined {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (!local || fields[3] !== "0A") continue;
      if (Number.parseInt(local.split(":")[1]!, 16) === port) inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode && inodes.has(inode)) {
          const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
          return { pid: Number(pid), command };
        }
      } catch {}
    }
  }
  return undefined;
}

const HOLDER_COMMAND_LENGTH = 100;

/** A port's holder as messages name it: its pid and its command line, cut at a word when long. */
export function holderText(holder: PortHolder): string {
  const { command } = holder;
  if (command.length <= HOLDER_COMMAND_LENGTH) return `pid ${holder.pid} (${command})`;
  const cut = command.lastIndexOf(" ", HOLDER_COMMAND_LENGTH);
  return `pid ${holder.pid} (${command.slice(0, cut > 0 ? cut : HOLDER_COMMAND_LENGTH)} …)`;
}

/** Who listens on a port, as messages name it; "another process" where that cannot be told. */
export function describeHolder(port: number): string {
  const holder = portHolder(port);
  return holder ? holderText(holder) : "another process";
}
