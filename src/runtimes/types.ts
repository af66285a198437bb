/** The API dialects a runtime can serve natively. */
export type Dialect = "chat" | "completions" | "embeddings" | "messages" | "responses" | "gemini";

/** Model file formats as `rig models` tells them apart. */
export type ModelFormat = "gguf" | "mlx" | "safetensors";

/** The key a profile sets to say what it serves: a model, an existing server's URL, or its own argv. */
export type ProfileTarget = "model" | "url" | "command";

/** What rig builds itself with `rig install <kind>`. */
export type RigBuild = "llama-server";

export interface InstallInfo {
  /** How a person gets the runtime, told when its executable is missing. */
  hint: string;
  /** Set when `rig install <kind>` builds it into rig's cache. */
  rigBuild?: RigBuild;
  /** The hint instead of `hint` for a profile spread across hosts (`rpc:`, `nodes:`): a build that can. */
  acrossHostsHint?: string;
}

/** A profile a starter rig.yaml shows for this runtime; valid as written once its placeholders are real. */
export interface ProfileExample {
  model?: string;
  url?: string;
  command?: string[];
  args?: (string | number)[];
}

/** Everything a runtime adapter needs to describe one launch; all paths already resolved. */
export interface LaunchInput {
  name: string;
  /** Model path, repo id or tag, as the runtime takes it. */
  model?: string;
  /** Base URL of an existing server (runtime `remote`). */
  url?: string;
  /** Executable override (`runtimes.<kind>.command`) or the full argv of a `command` server. */
  command?: string[];
  args: string[];
  host: string;
  /** The port as it appears in argv: a number, or a placeholder before one is assigned. */
  port: string;
  env: Record<string, string>;
  context?: number;
  /** llama.cpp rpc-server workers the model is split across, as `host:port`, in the profile's order. */
  rpc?: string[];
  /** The share of the model each device takes: llama.cpp puts the rpc workers first (in `rpc:` order), then this host's GPUs. */
  tensorSplit?: number[];
  /** The hosts one model runs across, the head first (a multi-node plan). */
  nodes?: ClusterNode[];
  /** The home's key for runtimes' own ports: a runtime that takes one requires it, and rig sends it. */
  accessKey?: string;
}

/** One host of a multi-node server, as the other hosts reach it. */
export interface ClusterNode {
  host: string;
  /** The GPUs on it the model uses. */
  gpus: number;
}

/** What runs on one host of a multi-node server, in order: the head's last command is the server itself. */
export interface NodeCommands {
  host: string;
  role: "head" | "worker";
  commands: string[][];
  /** Caveats a person should know before running these. */
  notes: string[];
}

export interface ProcessSpec {
  argv: string[];
  env: Record<string, string>;
}

/** An HTTP call the supervisor makes after readiness or before stopping (ollama, lmstudio). */
export interface HttpStep {
  kind: "http";
  method: "GET" | "POST";
  path: string;
  body?: unknown;
}

/** A helper command run to completion (e.g. `lms load`). */
export interface CommandStep {
  kind: "command";
  argv: string[];
}

export type LifecycleStep = HttpStep | CommandStep;

export interface FailureHint {
  pattern: RegExp;
  /** What the user should do, in rig's terms. */
  message: string;
}

// Memory estimates. Reading model files and the machine is src/memory's job; adapters get what it read
// as data and say what their runtime will do with it.

/** One weight tensor as stored: its bytes, and its shape where the header gives it. */
export interface ModelTensor {
  name: string;
  bytes: number;
  /** ggml order for GGUF (dims[0] is the row length). */
  dims?: readonly number[];
}

export type MetadataValue = number | string | boolean | readonly (number | boolean)[];

/** What rig read from a model's files for an estimate. */
export interface ModelShape {
  format: ModelFormat;
  tensors: readonly ModelTensor[];
  /** GGUF metadata: scalars, and arrays of numbers or booleans (vocabularies are left out). */
  gguf?: Readonly<Record<string, MetadataValue>>;
  /** config.json of a Hugging Face style folder (safetensors, MLX). */
  config?: Readonly<Record<string, unknown>>;
}

/** The machine as an estimate needs it. */
export interface MachineShape {
  /** Memory an accelerator has in total (every discrete GPU, or unified memory's GPU limit); 0 without one. */
  acceleratorBytes: number;
  /** CPU and GPU share one memory (Apple silicon). */
  unified: boolean;
}

/** What one launch will take, in bytes. */
export interface MemoryEstimate {
  weights: number;
  /** The KV cache (and any recurrent state) for the context below. */
  kv: number;
  /** Compute buffers, output buffers and what the runtime reserves beyond weights and KV. */
  compute: number;
  /** Of the total, what sits in accelerator memory and what in host RAM. */
  accelerator: number;
  host: number;
  /** The context the KV cache is sized for, in tokens (all slots together). */
  context?: number;
  /** Requests served at once, and the context each one gets. */
  slots?: number;
  slotContext?: number;
  /** Assumptions and what the estimate leaves out, in the user's terms. */
  notes: string[];
}

/** What a running launch uses, as its runtime reports it or as the process table shows it. */
export interface MemoryUse {
  accelerator: number;
  host: number;
  /** Where the numbers come from: "llama-server log", "ollama /api/ps", "rss". */
  source: string;
}

/** How a runtime tells what a running launch uses over HTTP (Ollama's /api/ps). */
export interface MemoryProbe {
  path: string;
  read(body: unknown, model: string | undefined): MemoryUse | undefined;
}

type JsonObject = Record<string, unknown>;

/**
 * How rig makes a Chat request's `tool_choice` binding on a runtime whose chat endpoint ignores it:
 * render the prompt with the runtime's own template, then generate under a JSON schema of the
 * allowed calls. Pure: the gateway makes the two requests.
 */
export interface ToolChoiceForcer {
  /** Whether this Chat request requires a tool call (`required`, or a named function). */
  forces(chat: JsonObject): boolean;
  templateRequest(chat: JsonObject): { path: string; body: JsonObject };
  completionRequest(chat: JsonObject, templated: JsonObject): { path: string; body: JsonObject };
  /** The Chat Completions response for what the constrained generation produced. */
  chatAnswer(chat: JsonObject, completion: JsonObject): JsonObject;
}

/**
 * A runtime kind: a pure description of how a server profile becomes a process, how to tell it is
 * ready, what it speaks and how it is stopped. Adapters never spawn, listen or write.
 */
export interface RuntimeAdapter {
  kind: string;
  label: string;
  /** What a profile must name; a profile that names its `command` runs exactly that argv. */
  requires: ProfileTarget;
  /** How `model:` is read: a file path, a path or a registry id, a runtime tag, or not used. */
  modelKind: "path" | "path-or-id" | "tag" | "none";
  /** Model file formats it loads from a path. */
  formats: readonly ModelFormat[];
  /**
   * The name `rig models` lists a model under when a profile names it by tag or id rather than by path
   * (Ollama: `llama3` is `llama3:latest`); the name as written when absent.
   */
  catalogName?(model: string): string;
  install?: InstallInfo;
  example: ProfileExample;
  /** Executable argv prefix used when `runtimes.<kind>.command` is not set; empty when nothing runs here. */
  defaultCommand: string[];
  /** Whether finding defaultCommand[0] on PATH shows the runtime is installed (not so for `python`). */
  detectable: boolean;
  dialects: readonly Dialect[];
  defaultStartTimeoutMs: number;
  /** The process to spawn; null when the runtime is reached, not launched (remote). */
  process(input: LaunchInput): ProcessSpec | null;
  /** Whether the spawned process is shared with other profiles and must outlive this one (ollama). */
  sharedProcess?: boolean;
  /**
   * How one model of this runtime spans hosts, and so which profile keys it takes: `rpc` (llama.cpp's
   * rpc-server workers: `rpc:`, `tensor_split:`) or `nodes` (a multi-node plan: `nodes:`).
   */
  acrossHosts?: "rpc" | "nodes";
  /** For `nodes`: what to run on each host, the head first; undefined when the profile names no nodes. */
  nodeCommands?(input: LaunchInput): NodeCommands[] | undefined;
  baseUrl(input: LaunchInput): string;
  /** Path polled until it answers 200. */
  healthPath: string;
  /** The `model` value requests must carry upstream. */
  upstreamModel(input: LaunchInput): string;
  /** Headers every request to the server carries (its key), beyond the client's own. */
  upstreamHeaders?(input: LaunchInput): Record<string, string>;
  /** Steps that bring up a daemon rig does not own (run when the base URL does not answer yet). */
  prepare?(input: LaunchInput): LifecycleStep[];
  afterReady?(input: LaunchInput): LifecycleStep[];
  beforeStop?(input: LaunchInput): LifecycleStep[];
  failureHints: readonly FailureHint[];
  /**
   * What of a log line to show as progress while the runtime starts (its own timestamps and levels
   * left out); undefined for a line that tells nothing, such as a banner. Without it, lines show whole.
   */
  progressText?(line: string): string | undefined;
  forceToolChoice?: ToolChoiceForcer;
  /**
   * What a launch will take before it starts, from the model's shape and the profile's flags, at
   * `context` tokens when given (else what the launch asks for). Undefined when the runtime cannot tell
   * before it has loaded the model.
   */
  estimateMemory?(
    input: LaunchInput,
    model: ModelShape | undefined,
    machine: MachineShape,
    context?: number,
  ): MemoryEstimate | undefined;
  /** What a running launch uses, read from the lines its log has had since it was launched. */
  memoryInLog?(lines: readonly string[]): MemoryUse | undefined;
  /** What a running launch uses, as the runtime's own API tells it. */
  memoryProbe?: MemoryProbe;
}

export const COMMON_FAILURE_HINTS: readonly FailureHint[] = [
  {
    pattern: /address already in use|bind.*failed|couldn't bind/i,
    message: "the port is already in use: free it or set another `port:` on this server",
  },
  {
    pattern: /out of memory|failed to allocate|cannot allocate memory|CUDA error: out of memory|OOM/i,
    message: "the model does not fit in memory: use a smaller quantisation or a smaller context",
  },
  {
    pattern: /no such file|not found|does not exist|failed to open/i,
    message: "the model was not found: check `model:` of this server (rig doctor lists missing paths)",
  },
];
