import { defineConfig } from "tsdown";

export default defineConfig({
  entry: { main: "src/cli/main.ts" },
  format: "esm",
  platform: "node",
  target: "node20",
  outDir: "dist",
  clean: true,
  dts: false,
  sourcemap: true,
  // ESM dependencies are bundled: one chunk loads faster than the hundreds of modules zod and yaml
  // ship as. better-sqlite3 is native and stays external.
  noExternal: [/^(?!better-sqlite3$)/],
  outputOptions: { banner: "#!/usr/bin/env node" },
});
