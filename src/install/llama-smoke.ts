import { spawn } from "node:child_process";
import { request } from "undici";
import { freePort } from "../system/ports.ts";
import { settlesWithin, sleep } from "../system/process.ts";

// A build of llama-server that starts is not yet one that runs: on some CPUs it dies by SIGILL only
// once several requests are batched (ggml's AMX matmul). The smoke test batches them.

export const SMOKE_TEST = { streams: 8, rounds: 2, tokens: 32, readyMs: 60_000, roundMs: 120_000 };

export type SmokeOutcome =
  | { passed: true }
  | {
      passed: false;
      /** The signal that ended the server, when one did. */
      signal: NodeJS.Signals | null;
      /** What went wrong, to follow "llama-server": "died by SIGILL", "exited with code 1". */
      reason: string;
      tail: string[];
    };

/**
 * Streams one chat of `tokens` tokens; throws unless it runs to its `[DONE]`. Each stream has its own
 * connection (`reset`): llama-server closes a keep-alive connection after a stream, and a second round
 * sent on a pooled one just as it closes fails with "fetch failed" although the server is healthy.
 */
async function stream(port: number): Promise<void> {
  const response = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      messages: [{ role: "user", content: "Say something." }],
      stream: true,
      max_tokens: SMOKE_TEST.tokens,
    }),
    reset: true,
    signal: AbortSignal.timeout(SMOKE_TEST.roundMs),
  });
  const text = await response.body.text();
  if (response.statusCode !== 200 || !text.includes("data: [DONE]"))
    throw new Error(`a stream ended without [DONE] (status ${response.statusCode}): ${text.slice(-300)}`);
}

async function health(port: number): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** Waits for health, then runs the rounds of concurrent streams. */
async function exercise(port: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + SMOKE_TEST.readyMs;
  while ((await health(port)) !== 200) {
    if (exited()) return;
    if (Date.now() > deadline) throw new Error(`was not ready within ${SMOKE_TEST.readyMs / 1000}s`);
    await sleep(100);
  }
  for (let round = 0; round < SMOKE_TEST.rounds; round++)
    await Promise.all(Array.from({ length: SMOKE_TEST.streams }, () => stream(port)));
}

/** Runs llama-server on `model` and streams chats to it, several at once, twice. */
export async function smokeTest(binary: string, model: string): Promise<SmokeOutcome> {
  const port = await freePort();
  const args = ["-m", model, "--host", "127.0.0.1", "--port", String(port)];
  const child = spawn(binary, [...args, "--parallel", String(SMOKE_TEST.streams), "--ctx-size", "4096"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail: string[] = [];
  const collect = (chunk: Buffer) => {
    tail.push(
      ...chunk
        .toString()
        .split("\n")
        .filter((line) => line.trim()),
    );
    tail.splice(0, Math.max(0, tail.length - 20));
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("error", (error) => {
      spawnError = error;
      resolve();
    });
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve();
    });
  });
  let problem: string | undefined;
  try {
    await Promise.race([exercise(port, () => exit !== undefined), exited]);
  } catch (error) {
    problem = (error as Error).message;
  }
  // A stream cut by the server's death is often seen before its exit is.
  if (problem && !exit) await settlesWithin(exited, 2000);
  const ended = exit;
  if (!ended && !spawnError) {
    child.kill("SIGKILL");
    await exited;
  }
  if (spawnError)
    return { passed: false, signal: null, reason: `could not run: ${spawnError.message}`, tail };
  if (ended) {
    const reason = ended.signal ? `died by ${ended.signal}` : `exited with code ${ended.code}`;
    return { passed: false, signal: ended.signal, reason, tail };
  }
  return problem ? { passed: false, signal: null, reason: problem, tail } : { passed: true };
}
