// The ways rig builds llama.cpp for a backend, each with its own folder in the cache: what cmake is
// told, which programs it installs, and when a SIGILL can be blamed on it.

export const BACKENDS = {
  cpu: [],
  cuda: ["-DGGML_CUDA=ON"],
  vulkan: ["-DGGML_VULKAN=ON"],
  metal: ["-DGGML_METAL=ON"],
} as const satisfies Record<string, string[]>;
export type Backend = keyof typeof BACKENDS;

/** What `rig install llama.cpp` was asked for: a backend, and whether to build rpc-server too. */
export interface BuildChoice {
  backend: Backend;
  /** Also build rpc-server (`GGML_RPC=ON`), which lets llama-server split a model across hosts. */
  rpc: boolean;
}

const RPC_OPTION = "-DGGML_RPC=ON";

const AMX_FLAGS = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16";

/**
 * One way to build llama.cpp for a backend. The cache keys builds by their options: the default one
 * keeps the plain backend folder (`3.21.1/cpu`), so builds made before variants existed are found.
 */
export interface BuildVariant {
  key: string;
  /** cmake options beyond the backend's. */
  options: string[];
  /** The programs it installs into its bin/, llama-server first. */
  programs: string[];
  /** What it leaves out, as the message that announces the rebuild says it. */
  leavesOut: string;
  /** Whether a SIGILL can be blamed on what it leaves out, on a CPU reporting these flags. */
  suspect(cpuFlags: ReadonlySet<string>): boolean;
}

/**
 * The cmake target (and the name of the binary it leaves in build/bin) behind each program rig
 * installs: this llama.cpp names rpc-server `ggml-rpc-server`; rig's cache keeps the name people know.
 */
export const CMAKE_TARGETS: Record<string, string> = {
  "llama-server": "llama-server",
  "rpc-server": "ggml-rpc-server",
};

/** The programs a build with these cmake options installs. */
export function programsOf(options: readonly string[]): string[] {
  return options.includes(RPC_OPTION) ? ["llama-server", "rpc-server"] : ["llama-server"];
}

/**
 * The builds tried in turn: for this CPU as it describes itself; without AMX (a CPU may report it and
 * still refuse its tile instructions once requests are batched); for ggml's non-native x86 baseline.
 * An RPC build is the same ladder with rpc-server beside llama-server, in `<backend>-rpc…` folders.
 */
export function buildVariants({ backend, rpc }: BuildChoice): BuildVariant[] {
  const base = rpc ? `${backend}-rpc` : backend;
  const extra = rpc ? [RPC_OPTION] : [];
  const variant = (
    suffix: string,
    options: string[],
    leavesOut: string,
    suspect: BuildVariant["suspect"],
  ): BuildVariant => ({
    key: base + suffix,
    options: [...extra, ...options],
    programs: programsOf(extra),
    leavesOut,
    suspect,
  });
  return [
    variant("", [], "nothing", () => false),
    variant(
      "-no-amx",
      [
        "-DGGML_AMX_TILE=OFF",
        "-DGGML_AMX_INT8=OFF",
        "-DGGML_AMX_BF16=OFF",
        `-DCMAKE_C_FLAGS=${AMX_FLAGS}`,
        `-DCMAKE_CXX_FLAGS=${AMX_FLAGS}`,
      ],
      "AMX",
      (cpuFlags) => [...cpuFlags].some((flag) => flag.startsWith("amx")),
    ),
    variant(
      "-portable",
      ["-DGGML_NATIVE=OFF"],
      "the instruction sets beyond AVX2 (GGML_NATIVE=OFF)",
      () => true,
    ),
  ];
}
