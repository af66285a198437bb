import { join } from "node:path";
import { type GatewaySpec, headline, SERVICE_MARKER, type ServiceSpec, writerCommand } from "./spec.ts";

// A systemd user unit for the gateway or a worker (Linux): `systemctl --user enable --now rig-<name>.service`.

export function unitName(spec: Pick<ServiceSpec, "name">): string {
  return `rig-${spec.name}.service`;
}

/** Where systemd looks for a user's own units. */
export function unitFolder(env: NodeJS.ProcessEnv, userHome: string): string {
  return join(env.XDG_CONFIG_HOME || join(userHome, ".config"), "systemd", "user");
}

/** The variables rig.yaml references, beside the home's other state (the unit names it, never holds it). */
export function environmentFile(spec: Pick<GatewaySpec, "home">): string {
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
function systemdHomeLine(home: string): string {
  return `WorkingDirectory=${path(home)}`;
}

/**
 * The line that says whose a unit is: a gateway's home, or a worker's first comment (which names its
 * port). A unit at the same path without it is another home's, or a gateway's named like a worker.
 */
export function systemdIdentity(spec: ServiceSpec): string {
  return spec.role === "gateway" ? systemdHomeLine(spec.home) : `# ${headline(spec)}.`;
}

/** What a gateway and a worker unit say differently about failing and stopping. */
function wording(spec: ServiceSpec): { failsFrom: string; stops: string } {
  return spec.role === "gateway"
    ? { failsFrom: "a broken rig.yaml", stops: "the daemon alone: it stops its servers itself" }
    : {
        failsFrom: "no rpc-server, a --device it does not know, the port taken",
        stops: "rig alone: it stops rpc-server itself",
      };
}

export function renderSystemdUnit(spec: ServiceSpec): string {
  const environment = Object.entries(spec.env).map(
    ([name, value]) => `Environment=${quoted(`${name}=${value}`, false)}`,
  );
  const secrets = Object.keys(spec.secretEnv);
  const writer = writerCommand(spec);
  const { failsFrom, stops } = wording(spec);
  return `# ${headline(spec)}.
# \`${writer} install\` rewrites this file and \`${writer} uninstall\` removes it; edits here are lost.
[Unit]
Description=${path(spec.title)}
# Five failed starts within a minute leave it failed (${failsFrom}): see journalctl --user -u ${unitName(spec)}
StartLimitIntervalSec=60
StartLimitBurst=5

[Service]
Type=simple
ExecStart=${spec.argv.map((word) => quoted(word, true)).join(" ")}
${spec.role === "gateway" ? `${systemdHomeLine(spec.home)}\n` : ""}${environment.join("\n")}
${
  secrets.length && spec.role === "gateway"
    ? `# rig.yaml's \${env:…} references (${secrets.join(", ")}), readable by you alone\nEnvironmentFile=${path(environmentFile(spec))}\n`
    : ""
}Restart=on-failure
RestartSec=5
# SIGTERM reaches ${stops}; whatever is left after 30 s is killed.
KillMode=mixed
TimeoutStopSec=30

[Install]
WantedBy=default.target
`;
}

/** The environment file's text: `NAME='value'` (single quotes: nothing inside is expanded or escaped). */
export function renderEnvironmentFile(spec: GatewaySpec): string {
  const lines = Object.entries(spec.secretEnv).map(([name, value]) =>
    value.includes("'") || value.includes("\n")
      ? `${name}="${value.replace(/[\\"$`]/g, (character) => `\\${character}`).replace(/\n/g, "\\n")}"`
      : `${name}='${value}'`,
  );
  return `# ${SERVICE_MARKER}: the variables rig.yaml references, for ${unitName(spec)}.\n${lines.join("\n")}\n`;
}
