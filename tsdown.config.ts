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
  outputOptions: { banner: "#!/usr/bin/env node" },
});
