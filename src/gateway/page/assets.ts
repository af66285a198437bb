import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

// The page's script and styles, built by `npm run build` into dist/ui/ (tsdown.config.ts) and shipped
// in the package. Read once, kept compressed in memory.

export const PAGE_ASSETS = {
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "uPlot.min.css": "text/css; charset=utf-8",
} as const;

export type AssetName = keyof typeof PAGE_ASSETS;

export interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/**
 * Where the built files are: beside the daemon's chunk in dist/, or, when rig runs from its sources
 * (tsx), in the checkout's dist/ from the last build.
 */
const CANDIDATE_FOLDERS = ["./ui/", "../../../dist/ui/"].map((relative) =>
  fileURLToPath(new URL(relative, import.meta.url)),
);

let cached: Map<AssetName, Asset> | undefined;

/** The page's files, or undefined when rig was not built (`npm run build`). */
export function pageAssets(): Map<AssetName, Asset> | undefined {
  if (cached) return cached;
  const folder = CANDIDATE_FOLDERS.find((candidate) => existsSync(`${candidate}app.js`));
  if (!folder) return undefined;
  cached = new Map(
    Object.entries(PAGE_ASSETS).map(([name, type]) => {
      const body = readFileSync(folder + name);
      const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"`;
      return [name as AssetName, { type, body, gzip: gzipSync(body, { level: 9 }), etag }];
    }),
  );
  return cached;
}
