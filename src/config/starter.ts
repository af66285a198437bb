import { Document, isSeq, visit } from "yaml";
import { RUNTIME_KINDS, runtimeFor } from "../runtimes/index.ts";

export const SCHEMA_FILE = "rig.schema.json";

export interface StarterServer {
  name: string;
  runtime: string;
  model: string;
  args?: (string | number)[];
  context?: number;
  notes?: string;
}

export interface StarterInput {
  /** Runtime kind → executable when it is not simply the default name on PATH. */
  runtimeCommands: Record<string, string>;
  /** Runtime kinds found on this machine. */
  runtimesFound: string[];
  /** Harness name → its CLI in rig's cache, when it is not on PATH. */
  harnessCommands: Record<string, string>;
  /** Harness names whose CLI was found. */
  harnessesFound: string[];
  /** A live server stanza when a model was found; otherwise the profiles are written commented out. */
  server?: StarterServer;
}

function block(value: unknown, indent: string): string {
  const doc = new Document(value);
  visit(doc, {
    Seq(_, node) {
      if (isSeq(node)) node.flow = true;
    },
  });
  return doc
    .toString({ lineWidth: 0 })
    .trimEnd()
    .split("\n")
    .map((line) => indent + line)
    .join("\n");
}

function commented(text: string): string {
  return text
    .split("\n")
    .map((line) => (line.trim() ? `# ${line}` : line))
    .join("\n");
}

/** The commented starter rig.yaml written by `rig init`; every stanza it adds is valid as written. */
export function starterConfig(input: StarterInput): string {
  const runtimes = Object.entries(input.runtimeCommands);
  const serverName = input.server?.name ?? "my-model";
  const serverStanza = input.server
    ? {
        [input.server.name]: {
          runtime: input.server.runtime,
          model: input.server.model,
          ...(input.server.args ? { args: input.server.args } : {}),
          ...(input.server.context ? { context: input.server.context } : {}),
          ...(input.server.notes ? { notes: input.server.notes } : {}),
        },
      }
    : undefined;
  const agents = Object.fromEntries(
    input.harnessesFound.map((harness) => [agentName(harness, serverName), { harness, server: serverName }]),
  );
  const lines = [
    `# yaml-language-server: $schema=./${SCHEMA_FILE}`,
    "# rig.yaml: your local-LLM stack in one file. `rig doctor` checks it, `rig explain <name>` shows what runs.",
    "version: 1",
    "",
    "gateway:                      # one port for every model and agent",
    "  host: 127.0.0.1",
    "  port: 7878",
    "  # api_key: ${env:RIG_API_KEY}   # require a key (set one before binding beyond loopback)",
    "",
    "paths:",
    "  models: [models, ~/.lmstudio/models, ~/.cache/huggingface/hub, ~/.ollama/models]   # where `rig models` looks",
    "  bin: ~/.local/bin            # where `rig shims sync` writes one command per agent",
    "",
  ];
  if (runtimes.length > 0) {
    lines.push("runtimes:                     # executables found off PATH");
    for (const [kind, command] of runtimes) lines.push(`  ${kind}: { command: ${JSON.stringify(command)} }`);
    lines.push("");
  }
  const harnesses = Object.entries(input.harnessCommands);
  if (harnesses.length > 0) {
    lines.push("harnesses:                    # agent CLIs found in rig's cache (`rig install --list`)");
    for (const [name, command] of harnesses) lines.push(`  ${name}: { command: ${JSON.stringify(command)} }`);
    lines.push("");
  }
  lines.push(
    `# runtimes found here: ${input.runtimesFound.join(", ") || "none"} · agent CLIs found here: ${input.harnessesFound.join(", ") || "none"}`,
    "",
    "servers:                      # one name = one exact launch; keep the why in notes:",
  );
  // The registry lists runtimes in order of preference, and init finds them in that order.
  const exampleRuntime = input.runtimesFound[0] ?? RUNTIME_KINDS[0];
  const example = {
    [serverName]: {
      runtime: exampleRuntime,
      ...runtimeFor(exampleRuntime).example,
      context: 32768,
      aliases: ["default"],
      ttl: "30m",
      request: { defaults: { temperature: 0.7 } },
      notes: "why these flags: what you measured",
    },
  };
  lines.push(serverStanza ? block(serverStanza, "  ") : commented(block(example, "  ")));
  lines.push(
    "",
    "agents:                       # a coding agent CLI pointed at a server; each becomes a command",
  );
  if (input.harnessesFound.length === 0) {
    lines.push(
      commented(block({ [`claude-${serverName}`]: { harness: "claude-code", server: serverName } }, "  ")),
    );
  } else {
    lines.push(serverStanza ? block(agents, "  ") : commented(block(agents, "  ")));
  }
  if (!serverStanza)
    lines.push(
      "",
      "# uncomment the stanzas above once `model:` points at a real file, or run `rig add server`",
    );
  return `${lines.join("\n")}\n`;
}

export function agentName(harness: string, server: string): string {
  const short: Record<string, string> = { "claude-code": "claude", "qwen-code": "qwen" };
  return `${short[harness] ?? harness}-${server}`;
}

export const STARTER_GITIGNORE = "# written by rig init\nstate/\nlogs/\n*.bak\n*.rig-partial\n";
