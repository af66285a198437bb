import type { ServerResponse } from "node:http";
import { sse } from "../../dialects/sse.ts";
import type { RequestRow } from "../../ledger/ledger.ts";
import type { Supervisor } from "../../supervisor/supervisor.ts";
import { followLog } from "../../system/follow-log.ts";
import type { Recorder } from "../recorder.ts";
import type { LogLines, ServersSnapshot } from "./protocol.ts";

/** A comment this often keeps proxies from closing a quiet stream and shows a gone client early. */
const HEARTBEAT_MS = 15_000;
/** How often a changed rig.yaml is looked for while a page listens (the supervisor emits no event for it). */
const CONFIG_CHECK_MS = 2_000;

type Send = (event: string, data: unknown) => void;

/** Opens an SSE answer that lives until the client leaves; `onClose` runs then. */
function openEvents(res: ServerResponse, onClose: () => void): Send {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-store",
    connection: "keep-alive",
  });
  res.write(": rig events\n\n");
  const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
  heartbeat.unref();
  res.once("close", () => {
    clearInterval(heartbeat);
    onClose();
  });
  return (event, data) => {
    if (!res.writableEnded) res.write(sse(event, data));
  };
}

/**
 * Every page listening to one daemon: subscribed to the supervisor and the recorder once, whatever
 * the number of pages, and only while at least one listens.
 */
class StackEvents {
  private readonly clients = new Set<Send>();
  private unsubscribe?: () => void;
  private snapshotPending = false;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly recorder: Recorder,
  ) {}

  snapshot(): ServersSnapshot {
    return {
      at: Date.now(),
      config_hash: this.supervisor.currentConfig.hash,
      servers: this.supervisor.status(),
    };
  }

  add(send: Send): () => void {
    this.clients.add(send);
    send("servers", this.snapshot());
    if (!this.unsubscribe) this.subscribe();
    return () => {
      this.clients.delete(send);
      if (this.clients.size === 0) {
        this.unsubscribe?.();
        this.unsubscribe = undefined;
      }
    };
  }

  private broadcast(event: string, data: unknown): void {
    for (const send of this.clients) send(event, data);
  }

  /** Changes that arrive together (a request and the state it caused) make one snapshot. */
  private changed = () => {
    if (this.snapshotPending) return;
    this.snapshotPending = true;
    setImmediate(() => {
      this.snapshotPending = false;
      if (this.clients.size) this.broadcast("servers", this.snapshot());
    });
  };

  private subscribe(): void {
    const onRequest = (row: RequestRow) => {
      this.broadcast("request", row);
      this.changed();
    };
    let configHash = this.supervisor.currentConfig.hash;
    const configCheck = setInterval(() => {
      if (this.supervisor.currentConfig.hash === configHash) return;
      configHash = this.supervisor.currentConfig.hash;
      this.changed();
    }, CONFIG_CHECK_MS);
    configCheck.unref();
    this.supervisor.on("state", this.changed);
    const stopRequests = this.recorder.onRequest(onRequest);
    this.unsubscribe = () => {
      clearInterval(configCheck);
      this.supervisor.off("state", this.changed);
      stopRequests();
    };
  }
}

const hubs = new WeakMap<Supervisor, StackEvents>();

/** `GET /rig/v1/events`: server states and finished requests, as they happen. */
export function streamStackEvents(res: ServerResponse, supervisor: Supervisor, recorder: Recorder): void {
  let hub = hubs.get(supervisor);
  if (!hub) {
    hub = new StackEvents(supervisor, recorder);
    hubs.set(supervisor, hub);
  }
  let leave = () => {};
  const send = openEvents(res, () => leave());
  leave = hub.add(send);
}

/** `GET /rig/v1/logs/<name>/events`: the log's last lines, then every line written to it. */
export function streamLog(res: ServerResponse, file: string): void {
  let follower: { close(): void } | undefined;
  const send = openEvents(res, () => follower?.close());
  follower = followLog(file, (lines, rotated) => send("lines", { lines, rotated } satisfies LogLines));
}
