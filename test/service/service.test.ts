// The gateway as a service: the unit systemd itself accepts (systemd-analyze verify), the plist a plist
// parser reads back, and `rig service install | status | uninstall` through the built CLI on a fake home.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parse as parsePlist } from "plist";
import { renderLaunchdPlist } from "../../src/service/launchd.ts";
import { type ServiceSpec, serviceName, serviceSpec } from "../../src/service/spec.ts";
import { renderEnvironmentFile, renderSystemdUnit } from "../../src/service/systemd.ts";
import { rig } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";

const folder = mkdtempSync(join(tmpdir(), "rig-service-"));
after(() => rmSync(folder, { recursive: true, force: true }));
const home = homesForThisFile();

/** systemd's own check of a unit file, as the user manager would load it: silent when all is well. */
function verifyUnit(path: string): string {
  const runtime = mkdtempSync(join(folder, "runtime-"));
  const result = spawnSync("systemd-analyze", ["--user", "verify", path], {
    encoding: "utf8",
    env: { ...process.env, XDG_RUNTIME_DIR: runtime },
  });
  assert.ok(!result.error, "systemd-analyze is missing: apt-get install systemd (.ci/run does)");
  return `${result.stdout}${result.stderr}`.trim() + (result.status === 0 ? "" : `\nexit ${result.status}`);
}

/** A spec with every character a unit or a plist must escape. */
const awkward: ServiceSpec = serviceSpec({
  home: "/home/someone/My Models %h & <co>",
  node: process.execPath,
  script: "/opt/rig's $HOME/dist/main.mjs",
  logFile: "/home/someone/My Models %h & <co>/logs/gateway.log",
  env: {
    PATH: '/usr/bin:/opt/"quoted" bin',
    HF_HOME: "/data/hf",
    UNRELATED: "no",
    RIG_API_KEY: "s3cret 'with' $quotes",
  },
  referenced: ["RIG_API_KEY"],
});

describe("the service files", () => {
  test("the systemd unit passes systemd-analyze verify, restarts on failure and keeps keys out of the unit", () => {
    const unit = join(folder, "rig-awkward.service");
    const text = renderSystemdUnit(awkward);
    writeFileSync(unit, text);
    assert.equal(verifyUnit(unit), "");
    assert.match(text, /^# Written by rig service install/);
    assert.match(text, /^Restart=on-failure$/m);
    assert.match(text, /^WantedBy=default\.target$/m);
    assert.match(
      text,
      /^ExecStart=\S+ --max-semi-space-size=4 "\/opt\/rig's \$\$HOME\/dist\/main\.mjs" gateway run --home "\/home\/someone\/My Models %%h & <co>"$/m,
    );
    assert.match(text, /^Environment="PATH=\/usr\/bin:\/opt\/\\"quoted\\" bin"$/m);
    assert.match(text, /^Environment=HF_HOME=\/data\/hf$/m);
    assert.doesNotMatch(text, /UNRELATED|s3cret/);
    assert.match(text, /^EnvironmentFile=\/home\/someone\/My Models %%h & <co>\/state\/service\.env$/m);
    assert.equal(renderEnvironmentFile(awkward).split("\n")[1], "RIG_API_KEY=\"s3cret 'with' \\$quotes\"");
  });

  test("the launchd plist reads back, through a plist parser, as the exact command, environment and restart rule", () => {
    const parsed = parsePlist(renderLaunchdPlist(awkward)) as Record<string, unknown>;
    assert.deepEqual(parsed, {
      Label: "rig.my-models-h-co",
      ProgramArguments: awkward.argv,
      WorkingDirectory: "/home/someone/My Models %h & <co>",
      EnvironmentVariables: {
        PATH: '/usr/bin:/opt/"quoted" bin',
        HF_HOME: "/data/hf",
        RIG_DAEMON: "1",
        RIG_API_KEY: "s3cret 'with' $quotes",
      },
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 5,
      ExitTimeOut: 30,
      StandardOutPath: awkward.logFile,
      StandardErrorPath: awkward.logFile,
    });
    assert.deepEqual(awkward.argv.slice(-3), ["run", "--home", "/home/someone/My Models %h & <co>"]);
  });

  test("a service is named after its home folder", () => {
    assert.equal(serviceName("/home/someone/local-llm"), "local-llm");
    assert.equal(serviceName("/home/someone/My Stack_2"), "my-stack-2");
    assert.equal(serviceName("/"), "home");
  });
});

describe("rig service", () => {
  test("install --dry-run prints, install writes and reloads, status tells, uninstall disables and removes", async () => {
    const stack = await home("", { gateway: ', api_key: "${env:RIG_SVC_KEY}"' });
    const userHome = join(folder, "user");
    const bin = join(folder, "bin");
    mkdirSync(bin, { recursive: true });
    const calls = join(folder, "systemctl.log");
    writeFileSync(
      join(bin, "systemctl"),
      `#!/bin/sh\necho "$@" >> ${JSON.stringify(calls)}\ncase "$*" in *is-active*) exit 3;; esac\n`,
    );
    chmodSync(join(bin, "systemctl"), 0o755);
    const env = {
      HOME: userHome,
      XDG_CONFIG_HOME: join(userHome, ".config"),
      PATH: `${bin}:${process.env.PATH}`,
      RIG_SVC_KEY: "k3y-of-the-service",
    };
    const run = (...args: string[]) => rig(["service", ...args], { home: stack.root, env });
    const name = serviceName(stack.root);
    const unit = join(userHome, ".config", "systemd", "user", `rig-${name}.service`);
    const environment = join(stack.root, "state", "service.env");

    const dry = await run("install", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(dry.stdout.includes(`gateway run --home ${stack.root}`), dry.stdout);
    assert.match(dry.stdout, /RIG_SVC_KEY='\$\{env:RIG_SVC_KEY\}'/);
    assert.doesNotMatch(dry.stdout, /k3y-of-the-service/, "the dry run shows the reference, not the key");
    assert.ok(!existsSync(unit), "a dry run writes nothing");

    const installed = await run("install");
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(
      installed.stdout,
      new RegExp(`enable and start it: systemctl --user enable --now rig-${name}\\.service`),
    );
    assert.equal(verifyUnit(unit), "");
    assert.equal(statSync(environment).mode & 0o777, 0o600, "the key's file is the user's alone");
    assert.match(readFileSync(environment, "utf8"), /^RIG_SVC_KEY='k3y-of-the-service'$/m);
    assert.doesNotMatch(readFileSync(unit, "utf8"), /k3y-of-the-service/);
    assert.match(readFileSync(calls, "utf8"), /^--user daemon-reload$/m);

    const status = await run("status", "--json");
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout), {
      manager: "systemd",
      path: unit,
      installed: true,
      current: true,
      active: false,
      gateway: { running: false },
    });

    const removed = await run("uninstall");
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(
      readFileSync(calls, "utf8"),
      new RegExp(`^--user disable --now rig-${name}\\.service$`, "m"),
    );
    assert.ok(!existsSync(unit) && !existsSync(environment));
    const after = await run("status", "--json");
    assert.equal(after.code, 1, "not installed");
    assert.equal(JSON.parse(after.stdout).installed, false);
  });

  test("a file rig did not write is never replaced nor removed", async () => {
    const stack = await home();
    const userHome = join(folder, "other-user");
    const env = { HOME: userHome, XDG_CONFIG_HOME: join(userHome, ".config") };
    const unit = join(userHome, ".config", "systemd", "user", `rig-${serviceName(stack.root)}.service`);
    mkdirSync(join(unit, ".."), { recursive: true });
    writeFileSync(unit, "[Service]\nExecStart=/bin/true\n");
    for (const command of ["install", "uninstall"]) {
      const result = await rig(["service", command], { home: stack.root, env });
      assert.equal(result.code, 1, command);
      assert.match(result.stderr, /was not written by rig/);
    }
    assert.equal(readFileSync(unit, "utf8"), "[Service]\nExecStart=/bin/true\n");
  });
});
