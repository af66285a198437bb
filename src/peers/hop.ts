// A request's hop to a peer, decided from the config alone: the profile it is planned with and the
// dialects the peer takes as they are.
import { type Config, findServer, type Peer, peerModel, type Server } from "../config/loader.ts";
import { runtimeFor } from "../runtimes/index.ts";
import type { Dialect } from "../runtimes/types.ts";
import type { PeerKind } from "./registry.ts";

/** Where a model name leads: a server here, or a model on a peer. */
export type Target =
  | { kind: "server"; server: Server }
  | { kind: "peer"; server: Server; peer: Peer; model: string };

/** How a peer that is not a rig gateway is reached: as an OpenAI-compatible server at a URL. */
const PLAIN_PEER_RUNTIME = "remote";

/**
 * The dialects a peer takes natively. A rig gateway takes every dialect a client sends rig and
 * translates for its own runtime (translation happens once, on the side that has the runtime), except
 * Gemini, whose model sits in the path (rig translates that here to Chat). Any other server speaks what
 * `runtime: remote` does.
 */
export function peerDialects(kind: PeerKind | undefined): readonly Dialect[] {
  return kind === "rig"
    ? ["chat", "completions", "embeddings", "messages", "responses"]
    : runtimeFor(PLAIN_PEER_RUNTIME).dialects;
}

/**
 * The profile a peer's model is planned and recorded with: named as the client names it
 * (`box2/qwen`), answering within the peer's timeout, with no rules of its own and nothing to launch.
 */
export function peerProfile(name: string, peer: Peer): Server {
  return {
    name,
    runtime: PLAIN_PEER_RUNTIME,
    url: peer.url,
    args: [],
    env: {},
    aliases: [],
    timeout: {},
    translate: "auto",
    request: {},
    priority: 0,
    fallback: [],
    rpc: [],
    nodes: [],
    ttlMs: 0,
    startTimeoutMs: 0,
    responseTimeoutMs: peer.timeoutMs,
    profileHash: `peer:${peer.name}`,
  };
}

/** A server name or alias here, else `<peer>/<model>`; undefined when it is neither. */
export function resolveTarget(config: Config, name: string): Target | undefined {
  const server = findServer(config, name);
  if (server) return { kind: "server", server };
  const onPeer = peerModel(config, name);
  if (!onPeer) return undefined;
  return { kind: "peer", server: peerProfile(name, onPeer.peer), ...onPeer };
}

/**
 * Who may answer a request routed to `first`, in order: it, then its `fallback:` list (a fallback's
 * own fallbacks are not followed: the chain is what the first server's stanza says, nothing more; a
 * peer's model has none).
 */
export function fallbackChain(first: Server): string[] {
  return [...new Set([first.name, ...first.fallback])];
}
