// The layer rules of DESIGN.md ("imports point down the table of layers, never up, never in a circle"),
// checked by `npm run lint`. Type-only imports count: a type that has to come from above is a layer
// that owns the wrong things, even though the compiler erases the import.
export default {
  forbidden: [
    {
      name: "no-circular",
      comment:
        "Modules that need each other are one module in two files: nothing can be read, tested or loaded " +
        "lazily on its own. Move what both need into a module below both.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "nothing-imports-cli",
      comment:
        "src/cli is the top: one file per command, wiring everything else. Code a command shares with a " +
        "lower layer belongs in that layer.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/cli/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "gateway-only-under-cli",
      comment:
        "The gateway is the daemon at the top of the request path: only the CLI starts it. What the " +
        "gateway knows that others need (its URL, usage shapes, row types) lives in a lower layer.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(cli|gateway)/" },
      to: { path: "^src/gateway/" },
    },
    {
      name: "supervisor-only-under-gateway-and-cli",
      comment:
        "The supervisor spawns and stops processes; only the daemon and the CLI drive it. A pure function " +
        "that others need (turning a profile into its launch) belongs with the adapters it calls.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(cli|gateway|supervisor)/" },
      to: { path: "^src/supervisor/" },
    },
    {
      name: "adapters-stay-pure",
      comment:
        "Runtimes, harnesses and dialects turn data into data, so a new one is one file that tests run " +
        "without a process. They may use each other, the config and system helpers; every other layer " +
        "holds state or side effects (the ledger, docs, inventory, shims, installs, processes).",
      severity: "error",
      from: { path: "^src/(runtimes|harnesses|dialects)/" },
      to: { path: "^src/", pathNot: "^src/(runtimes|harnesses|dialects|config|system)/" },
    },
    {
      name: "ledger-owns-its-rows",
      comment:
        "The ledger is written by the supervisor and the gateway and read by the CLI; its row types are " +
        "its own, so it depends on none of them.",
      severity: "error",
      from: { path: "^src/ledger/" },
      to: { path: "^src/", pathNot: "^src/(ledger|system)/" },
    },
    {
      name: "config-below-its-users",
      comment:
        "Every layer reads the config, so it reads none of them. It may consult the runtime and harness " +
        "registries (valid names, model kinds), never a plan that is built from a config (plan.ts).",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: "^src/", pathNot: "^src/(config|system)/|^src/(runtimes|harnesses)/(?!plan\\.ts$)" },
    },
    {
      name: "bench-measures-from-outside",
      comment:
        "src/bench measures a server as a client does and lays `--vary` profiles over a config: the CLI " +
        "runs it, the daemon keeps its variants and docs show its runs, so it imports none of them, nor " +
        "the supervisor it reaches through the daemon. It reads the config, runtimes, inventory and ledger.",
      severity: "error",
      from: { path: "^src/bench/" },
      to: { path: "^src/", pathNot: "^src/(bench|config|runtimes|inventory|ledger|system)/" },
    },
    {
      name: "peers-below-the-gateway",
      comment:
        "src/peers knows other gateways: what they list, whether they answer, how a request hops there. " +
        "The gateway routes with it and the CLI shows it; it reads only the config (and the runtime " +
        "registry's dialect names), so it never reaches into the daemon that uses it.",
      severity: "error",
      from: { path: "^src/peers/" },
      to: { path: "^src/", pathNot: "^src/(peers|config|runtimes|system)/" },
    },
    {
      name: "system-is-the-floor",
      comment: "src/system wraps the operating system (processes, ports, shell quoting) for everyone above.",
      severity: "error",
      from: { path: "^src/system/" },
      to: { path: "^src/", pathNot: "^src/system/" },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
  },
};
