import { defineCommand } from "citty";
import { BACKENDS, type Backend, buildLlamaServer } from "../install/llama-cpp.ts";
import { jsonArg, printJson, RigError, UsageError } from "./common.ts";
import { progress } from "./progress.ts";

export default defineCommand({
  meta: {
    name: "install",
    description:
      "build a runtime into rig's cache (~/.cache/rig): `rig install llama.cpp [--cuda|--vulkan|--metal]`",
  },
  args: {
    runtime: { type: "positional", description: "what to install: llama.cpp", required: true },
    cuda: { type: "boolean", description: "build with CUDA", default: false },
    vulkan: { type: "boolean", description: "build with Vulkan", default: false },
    metal: { type: "boolean", description: "build with Metal", default: false },
    ...jsonArg,
  },
  async run({ args }) {
    if (args.runtime !== "llama.cpp")
      throw new UsageError(
        `rig can build llama.cpp; \`${args.runtime}\` is installed with its own installer`,
      );
    const chosen = (Object.keys(BACKENDS) as Backend[]).filter(
      (backend) => backend !== "cpu" && args[backend],
    );
    if (chosen.length > 1) throw new UsageError(`choose one backend, not ${chosen.join(" and ")}`);
    const backend = chosen[0] ?? "cpu";
    const bar = progress("llama.cpp");
    try {
      const result = await buildLlamaServer(backend, (event) => {
        bar.update(
          event.phase === "compile" ? `compiling ${event.percent}%` : event.message,
          event.phase === "compile" ? `${Math.floor(event.percent / 10)}` : event.phase,
        );
      });
      if (args.json) printJson({ runtime: "llama.cpp", backend, ...result });
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
