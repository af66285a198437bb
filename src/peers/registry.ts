// What this gateway knows of its peers: which models each lists, whether it is a rig gateway, whether it
// answered the last time it was asked and how fast. Listing is the one network effect here; what a
// listing means (a rig gateway or a plain server, its model ids) is decided by pure functions.
import type { Peer } from "../config/loader.ts";

/**
 * A rig gateway speaks every dialect rig serves and translates for its own runtimes, so requests pass
 * through to it natively; any other server is treated as OpenAI-compatible (Chat), as `runtime: remote`.
 */
export type PeerKind = "rig" | "openai";

/** The header a rig gateway puts on its model list: how a peer is known to be one. */
export const RIG_GATEWAY_HEADER = "x-rig-gateway";
/**
 * Sent by a gateway listing its peer: the peer lists only its own servers, never its peers' models, so
 * two gateways that are each other's peer never list `a/b/a/…`.
 */
export const PEER_LISTING_HEADER = "x-rig-peer-listing";

export interface PeerListing {
  kind: PeerKind;
  models: string[];
  rttMs: number;
}

/** One peer as `rig ps`, `rig ls` and `/rig/v1/status` show it. */
export interface PeerStatus {
  name: string;
  url: string;
  /** Null until the first check has ended. */
  reachable: boolean | null;
  /** Time to the model list's response head, at the last successful check. */
  rtt_ms: number | null;
  kind: PeerKind | null;
  models: string[];
  checked_at: string | null;
  error: string | null;
}

/** Where a peer's `/v1/…` routes are: its url, without a `/v1` it may have been written with. */
export function peerBaseUrl(peer: Peer): string {
  return peer.url.replace(/\/v1$/, "");
}

/**
 * The gateways a request has passed through, by their ids, added by each one that sends it on to a
 * peer: a gateway that finds itself there refuses it, so fallbacks that lead back (a's server falls
 * back to b's, whose falls back to a's) end at once instead of bouncing requests between them.
 */
export const VIA_HEADER = "x-rig-via";

/** The gateways in a request's `x-rig-via`, the first one first. */
export function gatewaysPassed(via: string | string[] | undefined): string[] {
  return [via ?? []]
    .flat()
    .join(",")
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
}

/** The headers that carry a peer's key: OpenAI clients send Authorization, Anthropic ones x-api-key. */
export function peerAuthHeaders(peer: Peer): Record<string, string> {
  return peer.apiKey ? { authorization: `Bearer ${peer.apiKey}`, "x-api-key": peer.apiKey } : {};
}

/** The model ids in an OpenAI-shaped list (`{data: [{id}]}`), in order, without repeats. */
export function modelIdsOf(body: unknown): string[] {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new Error("the model list has no `data` array");
  const ids = data
    .map((entry) => (entry as { id?: unknown } | null)?.id)
    .filter((id): id is string => typeof id === "string" && id.length > 0);
  return [...new Set(ids)];
}

/** GET <peer>/v1/models with the peer's key: its models and kind, or an Error saying why not. */
export async function listPeer(peer: Peer, timeoutMs: number): Promise<PeerListing> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(`${peerBaseUrl(peer)}/v1/models`, {
      headers: { accept: "application/json", [PEER_LISTING_HEADER]: "1", ...peerAuthHeaders(peer) },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = (error as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : undefined;
    throw new Error(why ?? cause?.code ?? cause?.message ?? (error as Error).message);
  }
  const rttMs = performance.now() - started;
  const text = await response.text();
  if (response.status === 401 || response.status === 403)
    throw new Error(`refused the key (${response.status}): set peers.${peer.name}.api_key to its key`);
  if (!response.ok) throw new Error(`GET /v1/models answered ${response.status}: ${text.slice(0, 200)}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error("GET /v1/models answered something that is not JSON");
  }
  const kind: PeerKind = response.headers.get(RIG_GATEWAY_HEADER) ? "rig" : "openai";
  return { kind, models: modelIdsOf(body), rttMs };
}

export interface RegistryOptions {
  /** How often every peer is listed again (default 60 s). */
  intervalMs?: number;
  /** The longest a listing may take (default 5 s): a peer that takes longer is unreachable. */
  listTimeoutMs?: number;
  /** A request naming a model not seen lists its peer again, at most this often (default 5 s). */
  onDemandMs?: number;
  list?: (peer: Peer, timeoutMs: number) => Promise<PeerListing>;
}

interface Known {
  url: string;
  listing?: PeerListing;
  reachable: boolean | null;
  checkedAt?: number;
  error?: string;
}

/** The peers of the running config, listed every minute and on demand. */
export class PeerRegistry {
  private readonly known = new Map<string, Known>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly listTimeoutMs: number;
  private readonly onDemandMs: number;
  private readonly list: (peer: Peer, timeoutMs: number) => Promise<PeerListing>;

  constructor(
    private readonly peers: () => Record<string, Peer>,
    options: RegistryOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.listTimeoutMs = options.listTimeoutMs ?? 5_000;
    this.onDemandMs = options.onDemandMs ?? 5_000;
    this.list = options.list ?? listPeer;
  }

  /** Lists every peer now and then every interval (the timer never keeps the process alive). */
  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Lists one peer, or all; a listing already under way is joined, not repeated. Never rejects. */
  async refresh(name?: string): Promise<void> {
    const peers = this.peers();
    const names = name === undefined ? Object.keys(peers) : [name];
    await Promise.all(
      names
        .filter((candidate) => Object.hasOwn(peers, candidate))
        .map((candidate) => this.listOne(peers[candidate]!)),
    );
  }

  private listOne(peer: Peer): Promise<void> {
    const running = this.inFlight.get(peer.name);
    if (running) return running;
    const done = this.list(peer, this.listTimeoutMs).then(
      (listing) => {
        this.known.set(peer.name, { url: peer.url, listing, reachable: true, checkedAt: Date.now() });
      },
      (error: Error) => {
        // What it listed before stays routable: a peer that missed one check may answer the next request.
        const before = this.known.get(peer.name);
        this.known.set(peer.name, {
          url: peer.url,
          listing: before?.url === peer.url ? before.listing : undefined,
          reachable: false,
          checkedAt: Date.now(),
          error: error.message,
        });
      },
    );
    const settled = done.finally(() => this.inFlight.delete(peer.name));
    this.inFlight.set(peer.name, settled);
    return settled;
  }

  /**
   * Before routing `<peer>/<model>`: lists the peer again when it has never been listed or does not list
   * the model, unless it was checked moments ago (a typo must not list the peer on every request). A
   * peer whose last check failed is listed again in the background: the request goes on at once and
   * finds out for itself, instead of waiting for a listing and then for its own connect.
   */
  async ensureListed(name: string, model: string): Promise<void> {
    const entry = this.current(name);
    if (entry?.listing?.models.includes(model)) return;
    if (entry?.checkedAt !== undefined && Date.now() - entry.checkedAt < this.onDemandMs) return;
    if (entry?.reachable === false) return void this.refresh(name);
    await this.refresh(name);
  }

  /** What the peer is, once it has answered a listing. */
  kindOf(name: string): PeerKind | undefined {
    return this.current(name)?.listing?.kind;
  }

  /** The models of every peer that answered its last listing, named as clients name them. */
  reachableModels(): Array<{ peer: string; model: string }> {
    return Object.keys(this.peers()).flatMap((name) => {
      const entry = this.current(name);
      if (!entry?.reachable || !entry.listing) return [];
      return entry.listing.models.map((model) => ({ peer: name, model }));
    });
  }

  status(): PeerStatus[] {
    return Object.values(this.peers()).map((peer) => {
      const entry = this.current(peer.name);
      return {
        name: peer.name,
        url: peer.url,
        reachable: entry?.reachable ?? null,
        rtt_ms: entry?.reachable && entry.listing ? Math.round(entry.listing.rttMs * 10) / 10 : null,
        kind: entry?.listing?.kind ?? null,
        models: entry?.listing?.models ?? [],
        checked_at: entry?.checkedAt === undefined ? null : new Date(entry.checkedAt).toISOString(),
        error: entry?.error ?? null,
      };
    });
  }

  /** The entry for the peer as configured now: a peer whose url changed starts unknown. */
  private current(name: string): Known | undefined {
    const peers = this.peers();
    const entry = this.known.get(name);
    if (!entry || !Object.hasOwn(peers, name) || peers[name]!.url !== entry.url) return undefined;
    return entry;
  }
}
