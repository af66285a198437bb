// The page as shipped (dist/, after `npm run build`): small, self-contained, and never loaded by a CLI
// command or by the daemon before someone opens it.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { PAGE_ASSETS } from "../../src/gateway/page/assets.ts";
import { CONTENT_SECURITY_POLICY, pageHtml } from "../../src/gateway/page/html.ts";
import { RIG_MAIN } from "../support/cli.ts";

const DIST = dirname(RIG_MAIN);
const MAX_GZIPPED_BYTES = 150 * 1024;

/** Every chunk a module loads before it runs: its static imports, followed, never its `import()`s. */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(DIST, file), "utf8");
    for (const match of text.matchAll(
      /(?:^|[;\n])\s*import\s*(?:[^"'();]*?\s*from\s*)?["']\.\/([^"']+)["']/g,
    ))
      visit(match[1]!);
  };
  visit(entry);
  return seen;
}

/** The chunks that hold the page's daemon-side code (its routes and its HTML). */
function pageChunks(): string[] {
  return readdirSync(DIST).filter(
    (file) =>
      file.endsWith(".mjs") &&
      /\/rig\/v1\/inventory|rig's page is not built/.test(readFileSync(join(DIST, file), "utf8")),
  );
}

describe("the page as shipped", () => {
  test("is at most 150 KB gzipped, HTML, script and styles together, and names nothing outside", () => {
    const html = pageHtml({ home: "/home/someone/local-llm", version: "0.1.0", adminToken: "t".repeat(32) });
    let total = gzipSync(html, { level: 9 }).length;
    for (const name of Object.keys(PAGE_ASSETS)) {
      const body = readFileSync(join(DIST, "ui", name));
      total += gzipSync(body, { level: 9 }).length;
      assert.doesNotMatch(
        body.toString("utf8"),
        /https?:\/\//,
        `${name} refers to nothing outside the daemon`,
      );
    }
    assert.ok(total <= MAX_GZIPPED_BYTES, `${total} bytes gzipped`);
    assert.doesNotMatch(html, /https?:\/\//);
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'; script-src 'self'/);
  });

  test("neither a CLI command nor the daemon loads the page's code before the page is opened", () => {
    const page = pageChunks();
    assert.ok(page.length > 0, "the page's chunks are found by what they contain");
    const daemon = readdirSync(DIST).find((file) =>
      /async function runDaemon/.test(readFileSync(join(DIST, file), "utf8")),
    );
    assert.ok(daemon, "the daemon's chunk is found");
    for (const entry of ["main.mjs", daemon!]) {
      const loaded = staticClosure(entry);
      assert.ok(loaded.size > 1, `${entry} has static imports to follow`);
      for (const chunk of page) assert.ok(!loaded.has(chunk), `${entry} loads ${chunk} at start`);
    }
  });
});
