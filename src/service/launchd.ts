import { join } from "node:path";
import { headline, SERVICE_MARKER, type ServiceSpec, writerCommand } from "./spec.ts";

// A launchd agent for the gateway or a worker (macOS): `launchctl load -w ~/Library/LaunchAgents/rig.<name>.plist`.

export function launchdLabel(spec: Pick<ServiceSpec, "name">): string {
  return `rig.${spec.name}`;
}

export function agentFolder(userHome: string): string {
  return join(userHome, "Library", "LaunchAgents");
}

function escaped(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const string = (value: string) => `<string>${escaped(value)}</string>`;

function dict(entries: Array<[string, string]>, indent: string): string {
  return entries.map(([key, value]) => `${indent}<key>${escaped(key)}</key>\n${indent}${value}`).join("\n");
}

/** The entry that says which home an agent runs: a plist at the same path for another home is another's. */
function launchdHomeLine(home: string): string {
  return `<key>WorkingDirectory</key>\n  ${string(home)}`;
}

/** The first comment's sentence: the gateway's predates worker services and names no home. */
function opening(spec: ServiceSpec): string {
  return spec.role === "gateway" ? `${SERVICE_MARKER}: the rig gateway` : headline(spec);
}

/**
 * The entry that says whose a plist is: a gateway's home, or a worker's first comment (which names its
 * port). A plist at the same path without it is another home's, or a gateway's named like a worker.
 */
export function launchdIdentity(spec: ServiceSpec): string {
  return spec.role === "gateway" ? launchdHomeLine(spec.home) : `${opening(spec)}.`;
}

/**
 * The property list. Its environment includes rig.yaml's `${env:…}` variables (launchd has no
 * environment file), so the CLI writes it readable by the user alone.
 */
export function renderLaunchdPlist(spec: ServiceSpec): string {
  const environment = Object.entries({ ...spec.env, ...spec.secretEnv }).map(
    ([name, value]): [string, string] => [name, string(value)],
  );
  const writer = writerCommand(spec);
  const stop = spec.role === "gateway" ? "rig gateway stop" : `launchctl stop ${launchdLabel(spec)}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- ${escaped(opening(spec))}. \`${writer} install\` rewrites this file and \`${writer} uninstall\` removes it. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  ${string(launchdLabel(spec))}
  <key>ProgramArguments</key>
  <array>
${spec.argv.map((word) => `    ${string(word)}`).join("\n")}
  </array>
  ${spec.role === "gateway" ? `${launchdHomeLine(spec.home)}\n  ` : ""}<key>EnvironmentVariables</key>
  <dict>
${dict(environment, "    ")}
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <!-- Restarted when it fails, left stopped when it stops cleanly (${stop}). -->
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>ExitTimeOut</key>
  <integer>30</integer>
  <key>StandardOutPath</key>
  ${string(spec.logFile)}
  <key>StandardErrorPath</key>
  ${string(spec.logFile)}
</dict>
</plist>
`;
}
