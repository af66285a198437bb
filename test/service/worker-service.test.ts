// `rig worker install | status | uninstall`: the worker's unit systemd itself accepts, the plist read
// back as the exact command, and the commands through the built CLI with a stand-in systemctl.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parse as parsePlist } from "plist";
import { workerFlags } from "../../src/cli/worker-options.ts";
import { servicePlan } from "../../src/service/index.ts";
import { renderLaunchdPlist } from "../../src/service/launchd.ts";
import { serviceSpec, workerServiceSpec } from "../../src/service/spec.ts";
import { renderSystemdUnit } from "../../src/service/systemd.ts";
import { rig } from "../support/cli.ts";

const folder = mkdtempSync(join(tmpdir(), "rig-worker-service-"));
after(() => rmSync(folder, { recursive: true, force: true }));

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

const everyOption = workerServiceSpec({
  port: 50077,
  args: [
    ...workerFlags({ host: "10.0.0.2", port: 50077, device: "CUDA0,CUDA1", threads: 6, cache: true }),
    "--insecure-network",
  ],
  node: process.execPath,
  script: "/opt/rig's $HOME/dist/main.mjs",
  logFile: "/Users/someone/Library/Logs/rig-worker-50077.log",
  env: { PATH: "/usr/bin:/bin", RIG_CACHE: "/data/rig cache", CUDA_VISIBLE_DEVICES: "0,1", UNRELATED: "no" },
});

describe("the worker's service files", () => {
  test("the unit passes systemd-analyze verify and runs rig worker run with every option, restarting on failure", () => {
    const unit = join(folder, "rig-worker-50077.service");
    const text = renderSystemdUnit(everyOption);
    writeFileSync(unit, text);
    assert.equal(verifyUnit(unit), "");
    assert.match(
      text,
      /^# Written by rig worker install: the rig worker \(llama\.cpp rpc-server\) on port 50077\.$/m,
    );
    assert.match(
      text,
      /^ExecStart=\S+ "\/opt\/rig's \$\$HOME\/dist\/main\.mjs" worker run --host 10\.0\.0\.2 --port 50077 --device CUDA0,CUDA1 --threads 6 --cache --insecure-network$/m,
    );
    assert.match(text, /^Restart=on-failure$/m);
    assert.match(text, /^Environment="RIG_CACHE=\/data\/rig cache"$/m);
    assert.match(text, /^Environment=CUDA_VISIBLE_DEVICES=0,1$/m);
    assert.doesNotMatch(text, /UNRELATED|WorkingDirectory|RIG_DAEMON|EnvironmentFile|rig\.yaml/);
  });

  test("the plist reads back, through a plist parser, as the exact command and restart rule", () => {
    const parsed = parsePlist(renderLaunchdPlist(everyOption)) as Record<string, unknown>;
    assert.deepEqual(parsed, {
      Label: "rig.worker-50077",
      ProgramArguments: [
        process.execPath,
        "/opt/rig's $HOME/dist/main.mjs",
        ...["worker", "run", "--host", "10.0.0.2", "--port", "50077"],
        ...["--device", "CUDA0,CUDA1", "--threads", "6", "--cache", "--insecure-network"],
      ],
      EnvironmentVariables: {
        PATH: "/usr/bin:/bin",
        RIG_CACHE: "/data/rig cache",
        CUDA_VISIBLE_DEVICES: "0,1",
      },
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 5,
      ExitTimeOut: 30,
      StandardOutPath: everyOption.logFile,
      StandardErrorPath: everyOption.logFile,
    });
  });

  test("a worker's file and a gateway's of the same name tell each other apart, on either manager", () => {
    const gateway = serviceSpec({
      home: "/home/someone/worker-50077",
      node: process.execPath,
      script: "/opt/rig/dist/main.mjs",
      logFile: "/home/someone/worker-50077/logs/gateway.log",
      env: {},
      referenced: [],
    });
    for (const manager of ["systemd", "launchd"] as const) {
      const worker = servicePlan(manager, everyOption, {}, "/home/someone");
      const home = servicePlan(manager, gateway, {}, "/home/someone");
      assert.equal(worker.service.path, home.service.path, "the same file name: the clash to guard");
      assert.ok(worker.service.text.includes(worker.identity));
      assert.ok(!worker.service.text.includes(home.identity), manager);
      assert.ok(!home.service.text.includes(worker.identity), manager);
    }
  });
});

describe("rig worker install | status | uninstall", () => {
  const userHome = join(folder, "user");
  const bin = join(folder, "bin");
  const calls = join(folder, "systemctl.log");
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, "systemctl"),
    `#!/bin/sh\necho "$@" >> ${JSON.stringify(calls)}\ncase "$*" in *is-active*) exit 3;; esac\n`,
  );
  chmodSync(join(bin, "systemctl"), 0o755);
  const env = {
    HOME: userHome,
    XDG_CONFIG_HOME: join(userHome, ".config"),
    PATH: `${bin}:${process.env.PATH}`,
  };
  const worker = (...args: string[]) => rig(["worker", ...args], { env });
  const unitFor = (port: number) =>
    join(userHome, ".config", "systemd", "user", `rig-worker-${port}.service`);

  test("install --dry-run prints, install writes and reloads, status tells, uninstall disables and removes", async () => {
    const unit = unitFor(50071);
    const dry = await worker("install", "--port", "50071", "--device", "CPU", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(dry.stdout.includes(`# ${unit} (mode 644)`), dry.stdout);
    assert.match(dry.stdout, /worker run --host 127\.0\.0\.1 --port 50071 --device CPU$/m);
    assert.ok(!existsSync(unit), "a dry run writes nothing");

    const installed = await worker("install", "--port", "50071", "--device", "CPU");
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(
      installed.stdout,
      /enable and start it: systemctl --user enable --now rig-worker-50071\.service/,
    );
    assert.equal(readFileSync(unit, "utf8"), dry.stdout.split("\n").slice(1).join("\n"));
    assert.equal(verifyUnit(unit), "");
    assert.match(readFileSync(calls, "utf8"), /^--user daemon-reload$/m);

    const status = await worker("status", "--port", "50071", "--json");
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout), {
      manager: "systemd",
      path: unit,
      installed: true,
      active: false,
    });
    const other = await worker("status", "--port", "50072");
    assert.equal(other.code, 1, "another port's worker is not installed");
    assert.match(other.stdout, /not installed/);

    const removed = await worker("uninstall", "--port", "50071");
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(readFileSync(calls, "utf8"), /^--user disable --now rig-worker-50071\.service$/m);
    assert.ok(!existsSync(unit));
    const gone = await worker("status", "--port", "50071", "--json");
    assert.equal(gone.code, 1, "not installed");
    assert.equal(JSON.parse(gone.stdout).installed, false);
  });

  test("a host beyond loopback without --insecure-network is refused at install, saying why", async () => {
    const refused = await worker("install", "--host", "0.0.0.0", "--port", "50073");
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing to listen on 0\.0\.0\.0: .*no authentication.*--insecure-network/);
    assert.ok(!existsSync(unitFor(50073)), "nothing written");
    const allowed = await worker(
      "install",
      "--host",
      "0.0.0.0",
      "--port",
      "50073",
      "--insecure-network",
      "--dry-run",
    );
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /--host 0\.0\.0\.0 --port 50073 --insecure-network$/m);
  });

  test("a file rig did not write, or a gateway's named like the worker, is never replaced nor removed", async () => {
    const unit = unitFor(50074);
    mkdirSync(join(unit, ".."), { recursive: true });
    const cases = [
      { text: "[Service]\nExecStart=/bin/true\n", says: /was not written by rig/ },
      {
        text: "# Written by rig service install: the rig gateway for /home/u/worker-50074.\nWorkingDirectory=/home/u/worker-50074\n",
        says: /is the service of a rig home named worker-50074, not a worker/,
      },
    ];
    for (const { text, says } of cases) {
      writeFileSync(unit, text);
      for (const command of ["install", "uninstall"]) {
        const result = await worker(command, "--port", "50074");
        assert.equal(result.code, 1, command);
        assert.match(result.stderr, says);
      }
      const status = await worker("status", "--port", "50074");
      assert.equal(status.code, 1);
      assert.match(status.stdout, /another file is there/);
      assert.equal(readFileSync(unit, "utf8"), text);
    }
  });
});
