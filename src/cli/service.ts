import { existsSync, readFileSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { defineCommand } from "citty";
import type { Config } from "../config/loader.ts";
import { type ServiceFile, type ServicePlan, servicePlan } from "../service/index.ts";
import { type GatewaySpec, referencedNames, serviceSpec } from "../service/spec.ts";
import { shellLine } from "../system/shell.ts";
import { pc } from "./colors.ts";
import { homeArg, jsonArg, loadOrExit, printJson, RigError, UsageError } from "./common.ts";
import { daemonStatus } from "./daemon-client.ts";
import {
  checkOwnership,
  dryRunArg,
  installService,
  onDisk,
  plannedFiles,
  removeService,
  runManager,
  serviceManager,
  shownFile,
} from "./service-files.ts";

const serviceArgs = {
  name: {
    type: "string",
    description: "the service's name (default: the home folder's name): rig-<name>.service, rig.<name>",
    valueHint: "NAME",
  },
  ...homeArg,
  ...jsonArg,
} as const;

interface Planned {
  config: Config;
  spec: GatewaySpec;
  plan: ServicePlan;
}

async function planned(args: { home?: string; name?: string }): Promise<Planned> {
  const manager = serviceManager("rig service", "rig gateway run");
  if (args.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(args.name))
    throw new UsageError(`--name takes letters, digits, '.', '_' and '-', not \`${args.name}\``);
  const config = await loadOrExit(args.home);
  if (config.home.root.includes("\n"))
    throw new RigError("a home whose path holds a newline cannot be a service");
  const spec = serviceSpec({
    home: config.home.root,
    name: args.name,
    node: process.execPath,
    script: realpathSync(process.argv[1]!),
    logFile: join(config.home.logs, "gateway.log"),
    env: process.env,
    referenced: referencedNames(config.expanded.values()),
  });
  return { config, spec, plan: servicePlan(manager, spec, process.env, homedir()) };
}

/** Refuses to replace or remove a file rig did not write, or one that runs another home (or a worker). */
function checkGatewayOwnership(plan: ServicePlan, spec: GatewaySpec): void {
  checkOwnership(plan, {
    pick: "pick --name",
    other: `runs another rig home (or a rig worker); give this one another name: rig service install --name <name> (default ${spec.name})`,
  });
}

/** The files as `--dry-run` prints them: rig.yaml's variables shown as `${env:NAME}`, never their values. */
function shownFiles(planned: Planned): ServiceFile[] {
  const { spec, plan } = planned;
  const references = Object.fromEntries(Object.keys(spec.secretEnv).map((name) => [name, `\${env:${name}}`]));
  const shown = servicePlan(plan.manager, { ...spec, secretEnv: references }, process.env, homedir());
  return plannedFiles(shown);
}

function unsetReferences(config: Config, spec: GatewaySpec): string[] {
  return referencedNames(config.expanded.values()).filter((name) => spec.secretEnv[name] === undefined);
}

const install = defineCommand({
  meta: {
    name: "install",
    description:
      "write a systemd user unit (Linux) or launchd agent (macOS) that runs this home's gateway and restarts it on failure",
  },
  args: { ...serviceArgs, ...dryRunArg },
  async run({ args }) {
    const found = await planned(args);
    const { config, spec, plan } = found;
    if (args["dry-run"]) {
      for (const file of shownFiles(found)) process.stdout.write(shownFile(file, pc.dim));
      return;
    }
    checkGatewayOwnership(plan, spec);
    const running = await daemonStatus(config).catch(() => undefined);
    const unset = unsetReferences(config, spec);
    installService(plan, {
      json: Boolean(args.json),
      facts: { unset_variables: unset },
      notes: [
        ...(unset.length
          ? [
              `rig.yaml references ${unset.join(", ")}, not set here: set ${unset.length > 1 ? "them" : "it"} and run rig service install again`,
            ]
          : []),
        ...(running
          ? [
              `the gateway runs now outside the service (pid ${running.pid}): stop it first with rig gateway stop`,
            ]
          : []),
      ],
    });
  },
});

const uninstall = defineCommand({
  meta: { name: "uninstall", description: "stop the service and remove the files rig service install wrote" },
  args: { ...serviceArgs, ...dryRunArg },
  async run({ args }) {
    const { spec, plan } = await planned(args);
    if (!onDisk(plan)) {
      if (args.json) return printJson({ removed: [] });
      process.stdout.write(`no rig service at ${plan.service.path}\n`);
      return;
    }
    checkGatewayOwnership(plan, spec);
    removeService(plan, { dryRun: Boolean(args["dry-run"]), json: Boolean(args.json) });
  },
});

const status = defineCommand({
  meta: {
    name: "status",
    description: "is the service installed, current and running (exit 1 when not installed)",
  },
  args: { ...serviceArgs },
  async run({ args }) {
    const { config, plan } = await planned(args);
    const existing = onDisk(plan);
    const installed = Boolean(existing?.ours && existing.same);
    const environmentCurrent =
      !plan.environment ||
      (existsSync(plan.environment.path) &&
        readFileSync(plan.environment.path, "utf8") === plan.environment.text);
    const current = installed && existing!.text === plan.service.text && environmentCurrent;
    const active = installed && runManager(plan.active).ok;
    const gateway = await daemonStatus(config).catch(() => undefined);
    if (!installed) process.exitCode = 1;
    if (args.json)
      return printJson({
        manager: plan.manager,
        path: plan.service.path,
        installed,
        current,
        active,
        gateway: gateway ? { running: true, pid: gateway.pid } : { running: false },
      });
    const state = !existing
      ? "not installed"
      : !installed
        ? "another file is there (rig service install says whose)"
        : current
          ? "installed"
          : "installed, but differs from what rig service install writes now: run it again";
    process.stdout.write(
      [
        `${plan.manager} ${plan.service.path}: ${state}`,
        ...(installed
          ? [`service ${active ? pc.green("running") : "not running"}: ${shellLine(plan.enable)} starts it`]
          : []),
        `gateway ${gateway ? `running (pid ${gateway.pid})` : "not running"}`,
        "",
      ].join("\n"),
    );
  },
});

export default defineCommand({
  meta: {
    name: "service",
    description:
      "run the gateway as a service (systemd user unit, launchd agent): install | uninstall | status",
  },
  subCommands: { install, uninstall, status },
});
