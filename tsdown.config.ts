import { defineConfig } from "tsdown";

export default defineConfig([
  {
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
  },
  {
    // rig's page (served at /ui by the daemon): one script with uPlot inside and two stylesheets,
    // shipped in the package so the page loads nothing from outside.
    entry: { app: "src/gateway/page/browser/app.ts" },
    format: "esm",
    platform: "browser",
    target: "es2022",
    outDir: "dist/ui",
    dts: false,
    sourcemap: false,
    minify: true,
    noExternal: [/./],
    outExtensions: () => ({ js: ".js" }),
    copy: ["src/gateway/page/browser/style.css", "node_modules/uplot/dist/uPlot.min.css"],
  },
]);
