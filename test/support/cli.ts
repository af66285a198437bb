import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

export const RIG_MAIN = fileURLToPath(new URL("../../dist/main.mjs", import.meta.url));

export interface RigResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (as a user would) and captures its output; never throws on a non-zero exit. */
export function rig(
  args: string[],
  options: { home?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<RigResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [RIG_MAIN, ...args],
      {
        env: {
          ...process.env,
          NO_COLOR: "1",
          FORCE_COLOR: "0",
          ...(options.home ? { RIG_HOME: options.home } : {}),
          ...options.env,
        },
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
    // Nothing is typed: agents run headless (codex, pi and opencode read stdin when it is not a terminal).
    child.stdin?.end();
  });
}

export async function rigJson<T = unknown>(
  args: string[],
  options: Parameters<typeof rig>[1] = {},
): Promise<T> {
  const result = await rig([...args, "--json"], options);
  if (result.code !== 0)
    throw new Error(`rig ${args.join(" ")} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout) as T;
}
