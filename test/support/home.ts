import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { freePort } from "../../src/system/ports.ts";
import { rig } from "./cli.ts";

export interface TestHome {
  root: string;
  port: number;
  url: string;
  write(file: string, text: string): string;
  /** Stops the gateway (and so every server) and removes the folder. */
  cleanup(): Promise<void>;
}

/** A fresh rig home in a temp folder with a free gateway port; `yaml` is appended after the gateway stanza. */
export async function makeHome(yaml = "", options: { gateway?: string } = {}): Promise<TestHome> {
  const root = mkdtempSync(join(tmpdir(), "rig-test-"));
  const port = await freePort();
  mkdirSync(join(root, "models"), { recursive: true });
  const write = (file: string, text: string) => {
    const path = join(root, file);
    writeFileSync(path, text);
    return path;
  };
  write(
    "rig.yaml",
    `gateway: { host: 127.0.0.1, port: ${port}${options.gateway ?? ""} }\npaths: { models: [models], bin: bin }\n${yaml}`,
  );
  return {
    root,
    port,
    url: `http://127.0.0.1:${port}`,
    write,
    async cleanup() {
      await rig(["gateway", "stop"], { home: root });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Homes for one test file, every one stopped and removed when the file's tests end. */
export function homesForThisFile(): (yaml?: string, options?: { gateway?: string }) => Promise<TestHome> {
  const homes: TestHome[] = [];
  after(async () => {
    for (const home of homes) await home.cleanup();
  });
  return async (yaml = "", options = {}) => {
    const home = await makeHome(yaml, options);
    homes.push(home);
    return home;
  };
}
