import { defineCommand } from "citty";
import { BACKENDS, type Backend, buildLlamaServer, cachedLlamaServer } from "../install/llama-cpp.ts";
import { RUNTIMES } from "../runtimes/index.ts";
import type { RigBuild, RuntimeAdapter } from "../runtimes/types.ts";
import { jsonArg, printJson, RigError, UsageError } from "./common.ts";
import { progress } from "./progress.ts";

/** The builders behind what adapters say rig builds. */
const BUILDS: Record<RigBuild, { build: typeof buildLlamaServer; cached: () => string | undefined }> = {
  "llama-server": { build: buildLlamaServer, cached: () => cachedLlamaServer() },
};

/** rig's own build of this runtime's executable, when rig builds it and the build is in the cache. */
export function cachedBuild(adapter: RuntimeAdapter): string | undefined {
  const rigBuild = adapter.install?.rigBuild;
  return rigBuild ? BUILDS[rigBuild].cached() : undefined;
}

const buildable = Object.values(RUNTIMES)
  .filter((adapter) => adapter.install?.rigBuild)
  .map((adapter) => adapter.kind);

export default defineCommand({
  meta: {
    name: "install",
    description: `build a runtime into rig's cache (~/.cache/rig): \`rig install ${buildable.join("|")} [--cuda|--vulkan|--metal]\``,
  },
  args: {
    runtime: { type: "positional", description: `what to install: ${buildable.join(", ")}`, required: true },
    cuda: { type: "boolean", description: "build with CUDA", default: false },
    vulkan: { type: "boolean", description: "build with Vulkan", default: false },
    metal: { type: "boolean", description: "build with Metal", default: false },
    ...jsonArg,
  },
  async run({ args }) {
    const adapter = RUNTIMES[args.runtime];
    const rigBuild = adapter?.install?.rigBuild;
    if (!rigBuild)
      throw new UsageError(
        `rig can build ${buildable.join(", ")}; \`${args.runtime}\` is installed with its own installer${adapter?.install ? `: ${adapter.install.hint}` : ""}`,
      );
    const chosen = (Object.keys(BACKENDS) as Backend[]).filter(
      (backend) => backend !== "cpu" && args[backend],
    );
    if (chosen.length > 1) throw new UsageError(`choose one backend, not ${chosen.join(" and ")}`);
    const backend = chosen[0] ?? "cpu";
    const bar = progress(adapter.kind);
    try {
      const result = await BUILDS[rigBuild].build(backend, (event) => {
        bar.update(
          event.phase === "compile" ? `compiling ${event.percent}%` : event.message,
          event.phase === "compile" ? `${Math.floor(event.percent / 10)}` : event.phase,
        );
      });
      if (args.json) printJson({ runtime: adapter.kind, backend, ...result });
      else {
        bar.done(result.cached ? "already built" : `built in ${result.seconds}s`);
        process.stdout.write(`${result.path}\n`);
      }
    } catch (error) {
      bar.fail("build failed");
      throw new RigError((error as Error).message);
    }
  },
});
