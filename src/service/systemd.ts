import { join } from "node:path";
import { SERVICE_MARKER, type ServiceSpec } from "./spec.ts";

// A systemd user unit for the gateway (Linux): `systemctl --user enable --now rig-<name>.service`.

export function unitName(spec: Pick<ServiceSpec, "name">): string {
  return `rig-${spec.name}.service`;
}

/** Where systemd looks for a user's own units. */
export function unitFolder(env: NodeJS.ProcessEnv, userHome: string): string {
  return join(env.XDG_CONFIG_HOME || join(userHome, ".config"), "systemd", "user");
}

/** The variables rig.yaml references, beside the home's other state (the unit names it, never holds it). */
export function environmentFile(spec: Pick<ServiceSpec, "home">): string {
  return join(spec.home, "state", "service.env");
}

/**
 * One word of a unit setting, quoted as systemd reads it: backslash escapes, `%%` for a literal `%`
 * (specifiers), and in command lines `$$` for a literal `$` (variable expansion).
 */
function quoted(word: string, command: boolean): string {
  let text = word.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/%/g, "%%");
  if (command) text = text.replace(/\$/g, "$$$$");
  return /^[A-Za-z0-9_./:=,+@-]+$/.test(word) ? text : `"${text}"`;
}

/** A path setting's value: taken as written to the end of the line (no quotes), `%%` for a literal `%`. */
function path(value: string): string {
  return value.replace(/%/g, "%%");
}

/** The line that says which home a unit runs: a unit at the same path for another home is another's. */
export function systemdHomeLine(home: string): string {
  return `WorkingDirectory=${path(home)}`;
}

export function renderSystemdUnit(spec: ServiceSpec): string {
  const environment = Object.entries(spec.env).map(
    ([name, value]) => `Environment=${quoted(`${name}=${value}`, false)}`,
  );
  const secrets = Object.keys(spec.secretEnv);
  return `# ${SERVICE_MARKER}: the rig gateway for ${spec.home}.
# \`rig service install\` rewrites this file and \`rig service uninstall\` removes it; edits here are lost.
[Unit]
Description=rig gateway for ${path(spec.home)}
# Five failed starts within a minute leave it failed (a broken rig.yaml): see journalctl --user -u ${unitName(spec)}
StartLimitIntervalSec=60
StartLimitBurst=5

[Service]
Type=simple
ExecStart=${spec.argv.map((word) => quoted(word, true)).join(" ")}
${systemdHomeLine(spec.home)}
${environment.join("\n")}
${
  secrets.length
    ? `# rig.yaml's \${env:…} references (${secrets.join(", ")}), readable by you alone\nEnvironmentFile=${path(environmentFile(spec))}\n`
    : ""
}Restart=on-failure
RestartSec=5
# SIGTERM reaches the daemon alone: it stops its servers itself; whatever is left after 30 s is killed.
KillMode=mixed
TimeoutStopSec=30

[Install]
WantedBy=default.target
`;
}

/** The environment file's text: `NAME='value'` (single quotes: nothing inside is expanded or escaped). */
export function renderEnvironmentFile(spec: ServiceSpec): string {
  const lines = Object.entries(spec.secretEnv).map(([name, value]) =>
    value.includes("'") || value.includes("\n")
      ? `${name}="${value.replace(/[\\"$`]/g, (character) => `\\${character}`).replace(/\n/g, "\\n")}"`
      : `${name}='${value}'`,
  );
  return `# ${SERVICE_MARKER}: the variables rig.yaml references, for ${unitName(spec)}.\n${lines.join("\n")}\n`;
}
