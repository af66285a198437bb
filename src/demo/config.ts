import { agentName } from "../config/starter.ts";
import { HARNESSES } from "../harnesses/index.ts";
import { agentPin } from "../install/agents.ts";

export const DEMO_MARKER = "# written by rig demo";

/** The agents the demo configures: every harness with a version rig verified, so `rig install` has it. */
/**
 * The agents the demo configures and installs: the five whose CLIs install from npm in seconds. The
 * others are one `rig install <harness>` and one `rig add agent` away.
 */
export const DEMO_HARNESSES = ["claude-code", "codex", "qwen-code", "pi", "opencode"].filter(
  (harness) => HARNESSES[harness] && agentPin(harness),
);

/**
 * The demo's rig.yaml: one tiny llama.cpp server and one agent per harness in DEMO_HARNESSES;
 * `agentCommands` (harness → executable, as rig.yaml names paths) become `harnesses:` entries.
 */
export function demoConfig(options: {
  gatewayPort: number;
  llamaServer?: string;
  agentCommands: Record<string, string>;
}): string {
  const agents = DEMO_HARNESSES.map(
    (harness) => `  ${agentName(harness, "tiny")}: { harness: ${harness}, server: tiny }`,
  );
  return [
    `# yaml-language-server: $schema=./rig.schema.json`,
    `${DEMO_MARKER}: a tiny noise model served by llama.cpp, and every agent pointed at it.`,
    "version: 1",
    "",
    "gateway:",
    "  host: 127.0.0.1",
    `  port: ${options.gatewayPort}`,
    "",
    "paths:",
    "  models: [models]",
    "  bin: bin                     # the demo keeps its shims inside this folder",
    "",
    ...(options.llamaServer
      ? ["runtimes:", `  llama.cpp: { command: ${JSON.stringify(options.llamaServer)} }`, ""]
      : []),
    ...(Object.keys(options.agentCommands).length
      ? [
          "harnesses:                     # the agent CLIs `rig install` put in rig's cache",
          ...Object.entries(options.agentCommands).map(
            ([harness, command]) => `  ${harness}: { command: ${JSON.stringify(command)} }`,
          ),
          "",
        ]
      : []),
    "servers:",
    "  tiny:",
    "    runtime: llama.cpp",
    "    model: models/tiny.gguf",
    "    context: 65536                         # agents send system prompts of 10-20k tokens",
    "    args: [--threads, 2, --parallel, 2]",
    "    request:",
    "      # every answer at most 128 tokens of noise, whatever a client asks (max_output_tokens: the Responses API's name)",
    "      set: { max_tokens: 128, max_output_tokens: 128 }",
    "    aliases: [default]",
    "    ttl: 10m",
    "    notes: random weights over a real vocabulary; its text is noise, it exists to test the plumbing",
    "",
    "agents:",
    ...agents,
    "",
  ].join("\n");
}
