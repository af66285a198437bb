import { z } from "zod";
import { HARNESS_NAMES } from "../harnesses/index.ts";
import { kindsRequiring, RUNTIME_KINDS, runtimeFor } from "../runtimes/index.ts";
import type { ProfileTarget } from "../runtimes/types.ts";
import { DURATION_PATTERN, parseTokenCount, SIZE_PATTERN } from "./duration.ts";

const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    "use letters, digits, '.', '_' and '-' (it becomes a command and a URL part)",
  );

const duration = z
  .union([z.number().nonnegative(), z.string().regex(DURATION_PATTERN, "use a duration like 90s, 30m or 2h")])
  .describe("a duration: 90s, 30m, 2h, or seconds as a number; 0 means never");

const size = z
  .union([z.number().int().positive(), z.string().regex(SIZE_PATTERN, "use a size like 512KB, 50MB or 1GiB")])
  .describe("a size: 512KB, 50MB, 1GiB or bytes");

const port = z.number().int().min(1).max(65535);

/** `runtime: remote`, as a rule or a description names the runtimes whose profiles set this key. */
function runtimesNaming(target: ProfileTarget): string {
  return `runtime: ${kindsRequiring(target).join(" | ")}`;
}

function showValue(value: string | string[]): string {
  return Array.isArray(value) ? `[${value.join(", ")}]` : value;
}

const scalarArg = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const nodeSchema = z
  .strictObject({
    host: z.string().min(1).describe("the node's address, as the other nodes reach it"),
    gpus: z.number().int().positive().default(1).describe("GPUs on this node the model uses"),
  })
  .describe("one host of a multi-node vLLM server");

export const peerSchema = z
  .strictObject({
    url: z
      .string()
      .url()
      .describe("the peer's base URL (another rig gateway, or any OpenAI/Anthropic-compatible server)"),
    api_key: z.string().optional().describe("the peer's key, usually ${env:NAME}"),
    timeout: duration.optional().describe("longest silent wait for the peer (default 5m)"),
  })
  .describe("another gateway whose models appear here as <peer>/<model>");

export const workerSchema = z
  .strictObject({
    host: z
      .string()
      .min(1)
      // llama.cpp reads each --rpc entry as host:port split at its first ':'.
      .refine((host) => !host.includes(":"), {
        message:
          "llama.cpp's --rpc cannot take an IPv6 address (it splits host:port at the first ':'): give the worker a host name or an IPv4 address",
      })
      .describe("the address rpc-server listens on (a host name or an IPv4 address)"),
    port: port.default(50052).describe("rpc-server's port (default 50052)"),
  })
  .describe("a host running llama.cpp's rpc-server (`rig worker run`)");

export const requestRulesSchema = z
  .strictObject({
    set: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("deep-merged into every request; wins over the client"),
    defaults: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("deep-merged into every request only where the client is silent"),
    drop: z.array(z.string()).optional().describe("dotted paths removed from every request"),
  })
  .describe("rules the gateway applies to requests");

export const serverSchema = z
  .strictObject({
    runtime: z.enum(RUNTIME_KINDS).describe("which runtime serves this profile"),
    model: z.string().optional().describe("model file or folder, registry id or tag"),
    url: z
      .string()
      .url()
      .optional()
      .describe(`base URL of an existing server (${runtimesNaming("url")})`),
    command: z
      .array(scalarArg)
      .optional()
      .describe(
        `the server's argv (${runtimesNaming("command")}); \${PORT} \${HOST} \${MODEL} are substituted`,
      ),
    args: z.array(scalarArg).default([]).describe("extra runtime flags, exactly as the runtime takes them"),
    host: z.string().optional().describe("address the runtime binds (default 127.0.0.1)"),
    port: port.optional().describe("fixed port; otherwise a free one is assigned"),
    env: z.record(z.string(), scalarArg).default({}).describe("extra environment for the process"),
    context: z
      .union([
        z.number().int().positive(),
        z.string().refine((text) => parseTokenCount(text) !== undefined, {
          message: "use a number of tokens: 32768, or 32k (k is 1024)",
        }),
      ])
      .transform((tokens) => parseTokenCount(String(tokens))!)
      .optional()
      .describe("context window served, in tokens: 32768, or 32k (k is 1024)"),
    aliases: z.array(name).default([]).describe("other model names that route here"),
    ttl: duration.optional().describe("unload after this long idle; 0 or absent keeps it loaded"),
    group: z.string().optional().describe("servers sharing a group never run at the same time"),
    timeout: z
      .strictObject({
        start: duration.optional().describe("longest load time"),
        response: duration.optional().describe("longest silent wait for the upstream"),
      })
      .default({}),
    health: z.string().startsWith("/").optional().describe("health path polled until it answers 200"),
    translate: z
      .enum(["auto", "always", "never"])
      .default("auto")
      .describe("use the runtime's own dialect or translate"),
    request: requestRulesSchema.default({}),
    notes: z.string().optional().describe("why these flags: measurements, caveats"),
    memory: size.optional().describe("what this server takes in memory: overrides rig's estimate"),
    priority: z.number().int().default(0).describe("higher starts first when servers wait for memory"),
    fallback: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "servers or <peer>/<model> tried in order when this one cannot take a request (never after a byte)",
      ),
    rpc: z
      .array(name)
      .default([])
      .describe("llama.cpp only: workers (from `workers:`) the model is split across, passed as --rpc"),
    tensor_split: z
      .array(z.number().nonnegative())
      .optional()
      .describe(
        "llama.cpp only: the share of the model each device takes: the rpc workers first, in rpc: order, then this host's GPUs (--tensor-split)",
      ),
    nodes: z
      .array(nodeSchema)
      .default([])
      .describe("vllm only: the hosts one model runs across, the head first (rendered by `rig explain`)"),
  })
  .superRefine((server, ctx) => {
    const adapter = runtimeFor(server.runtime);
    const target = adapter.requires;
    if (!server[target]?.length) {
      const example = adapter.example[target];
      ctx.addIssue({
        code: "custom",
        path: [target],
        message: `a ${server.runtime} server needs \`${target}:\`${example ? ` (e.g. ${showValue(example)})` : ""}`,
      });
    }
    if (server.url && target !== "url")
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message: `\`url:\` is only for ${runtimesNaming("url")}`,
      });
    if (server.command && target !== "command")
      ctx.addIssue({
        code: "custom",
        path: ["command"],
        message: `\`command:\` is only for ${runtimesNaming("command")}; to change the ${server.runtime} executable set runtimes.${server.runtime}.command`,
      });
  });

export const agentSchema = z.strictObject({
  harness: z.enum(HARNESS_NAMES).describe("which coding agent CLI"),
  server: z.string().min(1).describe("the server profile (or alias, or <peer>/<model>) it talks to"),
  model_id: z
    .string()
    .optional()
    .describe("the model name the agent is configured with (default: the server name)"),
  args: z.array(scalarArg).default([]).describe("extra arguments for the agent, added last"),
  env: z.record(z.string(), scalarArg).default({}).describe("extra environment for the agent, added last"),
  request: requestRulesSchema.default({}),
  notes: z.string().optional(),
});

const executableOverride = z.strictObject({
  command: z
    .union([z.string(), z.array(z.string())])
    .describe("executable (name on PATH, path, or argv prefix)"),
});

/**
 * Names rig's own files already take: a server's log is logs/<name>.log, and logs/gateway.log is the
 * gateway's (and `rig logs gateway` shows it). Compared without case, as macOS compares file names.
 */
const RESERVED_SERVER_NAMES = ["gateway"];

function refuseReservedNames(servers: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const serverName of Object.keys(servers)) {
    if (RESERVED_SERVER_NAMES.includes(serverName.toLowerCase()))
      ctx.addIssue({
        code: "custom",
        path: [serverName],
        message: `\`${serverName}\` is reserved for rig's own log (logs/gateway.log, \`rig logs gateway\`); name the server something else`,
      });
  }
}

const memoryLimit = z
  .union([z.literal("auto"), size])
  .default("auto")
  .describe("auto (read the machine) or a size");

export const memorySchema = z
  .strictObject({
    gpu: memoryLimit.describe(
      "GPU memory rig's servers may use: auto (nvidia-smi, rocm-smi, macOS) or a size",
    ),
    ram: memoryLimit.describe("RAM rig's servers may use: auto (the machine's memory) or a size"),
    reserve: size.default("2GB").describe("memory kept free for everything else"),
  })
  .describe("how much memory servers may take together; rig evicts idle servers to stay within it");

export const configSchema = z.strictObject({
  version: z.literal(1).optional(),
  gateway: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      port: port.default(7878),
      api_key: z.string().optional().describe("require this key on every request"),
      body_limit: size.default("50MB").describe("largest request body accepted"),
      allowed_hosts: z
        .array(z.string())
        .default([])
        .describe("Host headers served besides loopback names and gateway.host (names you reach rig by)"),
      cors_origins: z
        .array(z.string())
        .default([])
        .describe("browser origins allowed besides rig's own page, e.g. http://localhost:3000"),
      insecure_no_key: z
        .boolean()
        .default(false)
        .describe("must be true to listen beyond loopback without api_key"),
    })
    .default({
      host: "127.0.0.1",
      port: 7878,
      body_limit: "50MB",
      allowed_hosts: [],
      cors_origins: [],
      insecure_no_key: false,
    }),
  paths: z
    .strictObject({
      models: z
        .array(z.string())
        .default(["models", "~/.lmstudio/models", "~/.cache/huggingface/hub", "~/.ollama/models"]),
      bin: z.string().default("~/.local/bin"),
    })
    .default({
      models: ["models", "~/.lmstudio/models", "~/.cache/huggingface/hub", "~/.ollama/models"],
      bin: "~/.local/bin",
    }),
  include: z
    .array(z.string())
    .default([])
    .describe("more YAML files (globs, relative to the home) merged in"),
  runtimes: z.partialRecord(z.enum(RUNTIME_KINDS), executableOverride).default({}),
  harnesses: z.partialRecord(z.enum(HARNESS_NAMES), executableOverride).default({}),
  memory: memorySchema.default({ gpu: "auto", ram: "auto", reserve: "2GB" }),
  peers: z.record(name, peerSchema).default({}),
  workers: z.record(name, workerSchema).default({}),
  servers: z.record(name, serverSchema).default({}).superRefine(refuseReservedNames),
  agents: z.record(name, agentSchema).default({}),
});

export type RawConfig = z.infer<typeof configSchema>;
export type ServerConfig = z.infer<typeof serverSchema>;
export type AgentConfig = z.infer<typeof agentSchema>;
export type RequestRules = z.infer<typeof requestRulesSchema>;
export type PeerConfig = z.infer<typeof peerSchema>;
export type WorkerConfig = z.infer<typeof workerSchema>;
export type NodeConfig = z.infer<typeof nodeSchema>;

/** Sections an included file may define; everything else belongs to the main rig.yaml. */
export const MERGED_SECTIONS = ["servers", "agents", "runtimes", "harnesses"] as const;

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" });
}
