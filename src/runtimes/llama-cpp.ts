import { contextArgs, flagValues, hasFlag, listenArgs, localUrl } from "./args.ts";
import { estimateLlamaServer, llamaServerMemory } from "./llama-cpp-memory.ts";
import { llamaCppToolChoice } from "./llama-cpp-tools.ts";
import { COMMON_FAILURE_HINTS, type LaunchInput, type RuntimeAdapter } from "./types.ts";

/** `--rpc` and `--tensor-split` from the profile's `rpc:` and `tensor_split:`, unless its args set them. */
function acrossHostsArgs(input: LaunchInput): string[] {
  const rpc = input.rpc?.length && !hasFlag(input.args, "--rpc") ? ["--rpc", input.rpc.join(",")] : [];
  const split =
    input.tensorSplit?.length && !hasFlag(input.args, "--tensor-split", "-ts")
      ? ["--tensor-split", input.tensorSplit.join(",")]
      : [];
  return [...rpc, ...split];
}

/** Whether the profile gives llama-server a key of its own (then rig's is not added). */
function ownKeySet(input: LaunchInput): boolean {
  return hasFlag(input.args, "--api-key", "--api-key-file") || input.env.LLAMA_API_KEY !== undefined;
}

/** An origin no browser page has (`.invalid` never resolves): llama-server then allows none. */
const NO_BROWSER_ORIGIN = "https://rig.invalid";

export const llamaCpp: RuntimeAdapter = {
  kind: "llama.cpp",
  label: "llama.cpp llama-server (GGUF)",
  requires: "model",
  modelKind: "path",
  formats: ["gguf"],
  install: {
    hint: "`rig install llama.cpp` builds it",
    rigBuild: "llama-server",
    acrossHostsHint: "`rig install llama.cpp --rpc` builds it with RPC, and rpc-server for the workers",
  },
  example: { model: "models/your-model.gguf", args: ["--flash-attn", "on", "--n-gpu-layers", 99] },
  defaultCommand: ["llama-server"],
  detectable: true,
  dialects: ["chat", "completions", "embeddings", "messages", "responses"],
  defaultStartTimeoutMs: 10 * 60_000,
  acrossHosts: "rpc",
  process(input) {
    const [executable = "llama-server", ...prefix] = input.command ?? this.defaultCommand;
    return {
      argv: [
        executable,
        ...prefix,
        "-m",
        input.model ?? "",
        // Answers then name the model as clients asked for it, not by its file's path.
        ...listenArgs(input, "--alias", "-a"),
        ...contextArgs(input, "--ctx-size", "-c"),
        ...acrossHostsArgs(input),
        ...input.args,
      ],
      env: {
        // llama-server answers any web page's request by default (CORS `*`, credentials allowed): a
        // page could read its /slots (the prompts it holds) and run the model. Only rig talks to it,
        // never a browser. An environment variable, which an older llama-server ignores, not a flag it
        // would refuse.
        LLAMA_ARG_CORS_ORIGINS: NO_BROWSER_ORIGIN,
        // Only rig may use the port: a page that guesses it cannot even send a blind request.
        ...(input.accessKey && !ownKeySet(input) ? { LLAMA_API_KEY: input.accessKey } : {}),
        // A worker that goes away aborts llama-server; ggml's gdb backtrace would then bury the line
        // that says so under forty lines of frames (a split launch keeps a backtrace the profile asks for).
        ...(input.rpc?.length ? { GGML_NO_BACKTRACE: "1" } : {}),
        ...input.env,
      },
    };
  },
  progressText(line) {
    // "0.01.849.844 I srv    load_model: initializing, …": uptime, level and module, then the message.
    const message = line.replace(/^\d+\.\d+\.\d+\.\d+ [A-Z] \S+\s+/, "");
    return /^[\w:() ]*-{3,}$/.test(message) ? undefined : message;
  },
  baseUrl: (input) => localUrl(input.host, input.port),
  healthPath: "/health",
  upstreamModel: (input) => input.name,
  upstreamHeaders(input): Record<string, string> {
    // A key the profile sets itself (an --api-key in args, LLAMA_API_KEY in env) is the one to send.
    const key = flagValues(input.args, "--api-key")[0] ?? input.env.LLAMA_API_KEY ?? input.accessKey;
    return key ? { authorization: `Bearer ${key}` } : {};
  },
  failureHints: [
    {
      pattern: /invalid argument: --rpc/,
      message:
        "this llama-server was built without RPC: `rig install llama.cpp --rpc` builds one with it (and rpc-server), then point runtimes.llama.cpp.command at it",
    },
    {
      // ggml aborts the whole server when a worker's connection fails, at load or mid-request.
      pattern: /Failed to connect to \S+:\d+|Remote RPC server crashed|RPC handshake failed/i,
      message:
        "an rpc-server worker went away or refused the connection: check `rig ps` and restart it with `rig worker run` on its host",
    },
    {
      pattern: /failed to load model|error loading model/i,
      message: "llama-server could not load the model file: is it a complete GGUF file?",
    },
    ...COMMON_FAILURE_HINTS,
  ],
  forceToolChoice: llamaCppToolChoice,
  estimateMemory: estimateLlamaServer,
  memoryInLog: llamaServerMemory,
};
