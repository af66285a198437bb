import type { PeerStatus } from "../peers/registry.ts";
import { pc } from "./colors.ts";
import { table } from "./table.ts";

// Peers as `rig ps` and `rig ls` show them.

/** A peer's state word, from whether it answered its last listing (null: not asked yet). */
export function peerState(reachable: boolean | null): "reachable" | "unreachable" | "unknown" {
  return reachable === null ? "unknown" : reachable ? "reachable" : "unreachable";
}

/** The state word as a table cell: green, red, or dim while unknown. */
export function peerStateCell(reachable: boolean | null): string {
  const state = peerState(reachable);
  return state === "reachable" ? pc.green(state) : state === "unreachable" ? pc.red(state) : pc.dim(state);
}

/** `rig ps --json` rows for peers, after the servers': a peer runs nothing here, so pid and port are null. */
export function peerJson(peer: PeerStatus) {
  return {
    name: peer.name,
    state: peerState(peer.reachable),
    runtime: "peer",
    url: peer.url,
    kind: peer.kind,
    rtt_ms: peer.rtt_ms,
    models: peer.models.length,
    error: peer.error,
  };
}

export function peerTable(peers: PeerStatus[]): string {
  const rows = peers.map((peer) => {
    return [
      pc.bold(peer.name),
      peerStateCell(peer.reachable),
      peer.rtt_ms === null ? "" : `${peer.rtt_ms} ms`,
      peer.models.length,
      peer.kind ?? "",
      peer.url,
    ];
  });
  const errors = peers.filter((peer) => peer.error).map((peer) => `${pc.red(peer.name)}: ${peer.error}\n`);
  return `${table(["peer", "state", "rtt", "models", "kind", "url"], rows)}\n${errors.join("")}`;
}
