import { join } from "node:path";
import { SERVICE_MARKER, type ServiceSpec } from "./spec.ts";

// A launchd agent for the gateway (macOS): `launchctl load -w ~/Library/LaunchAgents/rig.<name>.plist`.

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
export function launchdHomeLine(home: string): string {
  return `<key>WorkingDirectory</key>\n  ${string(home)}`;
}

/**
 * The property list. Its environment includes rig.yaml's `${env:…}` variables (launchd has no
 * environment file), so the CLI writes it readable by the user alone.
 */
export function renderLaunchdPlist(spec: ServiceSpec): string {
  const environment = Object.entries({ ...spec.env, ...spec.secretEnv }).map(
    ([name, value]): [string, string] => [name, string(value)],
  );
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- ${SERVICE_MARKER}: the rig gateway. \`rig service install\` rewrites this file and \`rig service uninstall\` removes it. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  ${string(launchdLabel(spec))}
  <key>ProgramArguments</key>
  <array>
${spec.argv.map((word) => `    ${string(word)}`).join("\n")}
  </array>
  ${launchdHomeLine(spec.home)}
  <key>EnvironmentVariables</key>
  <dict>
${dict(environment, "    ")}
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <!-- Restarted when it fails, left stopped when it stops cleanly (rig gateway stop). -->
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
