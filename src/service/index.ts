import { join } from "node:path";
import { agentFolder, launchdIdentity, launchdLabel, renderLaunchdPlist } from "./launchd.ts";
import type { ServiceSpec } from "./spec.ts";
import {
  environmentFile,
  renderEnvironmentFile,
  renderSystemdUnit,
  systemdIdentity,
  unitFolder,
  unitName,
} from "./systemd.ts";

export type ServiceManager = "systemd" | "launchd";

/** The service manager of this operating system, if rig knows one. */
export function managerFor(platform: NodeJS.Platform): ServiceManager | undefined {
  if (platform === "linux") return "systemd";
  if (platform === "darwin") return "launchd";
  return undefined;
}

export interface ServiceFile {
  path: string;
  text: string;
  mode: number;
}

/** What `rig service install` or `rig worker install` writes for one manager, and the commands that drive it. */
export interface ServicePlan {
  manager: ServiceManager;
  /** The unit or plist. */
  service: ServiceFile;
  /** The file holding rig.yaml's `${env:…}` variables, when the manager reads them from one. */
  environment?: ServiceFile;
  /** Appears in the service file only when it runs this home, or is this worker's. */
  identity: string;
  /** Told after install: what enables and starts it. */
  enable: string[];
  /** Run (best effort) after the file is written, and before it is removed on uninstall. */
  reload: string[];
  unload: string[];
  /** Asks the manager whether it runs: exit 0 when it does. */
  active: string[];
}

export function servicePlan(
  manager: ServiceManager,
  spec: ServiceSpec,
  env: NodeJS.ProcessEnv,
  userHome: string,
): ServicePlan {
  if (manager === "systemd") {
    const unit = unitName(spec);
    return {
      manager,
      service: { path: join(unitFolder(env, userHome), unit), text: renderSystemdUnit(spec), mode: 0o644 },
      // Only a gateway has any: the variables its rig.yaml references.
      environment:
        spec.role === "gateway" && Object.keys(spec.secretEnv).length > 0
          ? { path: environmentFile(spec), text: renderEnvironmentFile(spec), mode: 0o600 }
          : undefined,
      identity: systemdIdentity(spec),
      enable: ["systemctl", "--user", "enable", "--now", unit],
      reload: ["systemctl", "--user", "daemon-reload"],
      unload: ["systemctl", "--user", "disable", "--now", unit],
      active: ["systemctl", "--user", "is-active", "--quiet", unit],
    };
  }
  const path = join(agentFolder(userHome), `${launchdLabel(spec)}.plist`);
  return {
    manager,
    // Readable by the user alone: launchd takes the environment, keys included, from the plist itself.
    service: { path, text: renderLaunchdPlist(spec), mode: 0o600 },
    identity: launchdIdentity(spec),
    enable: ["launchctl", "load", "-w", path],
    reload: [],
    unload: ["launchctl", "unload", "-w", path],
    active: ["launchctl", "list", launchdLabel(spec)],
  };
}
