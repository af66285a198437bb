import { PAGE_ROUTES, type RequestRow, type ServersSnapshot, type StackView } from "../protocol.ts";
import { Activity } from "./activity.ts";
import { renderAgents } from "./agents.ts";
import { getJson } from "./api.ts";
import { byId } from "./dom.ts";
import { LiveLog } from "./logs.ts";
import { Models } from "./models.ts";
import { Playground } from "./playground.ts";
import { ServersTable } from "./servers.ts";
import { SideBySide } from "./side-by-side.ts";
import { finishedAt, SPEED_WINDOW_MS, speedsOverWindow } from "./stats.ts";

// rig's page: everything it shows arrives by SSE from the daemon once loaded; the only timer redraws
// what moves with the clock (uptime, ttl left, the last minute's speed).

const connection = byId("connection");
const servers = new ServersTable();
const activity = new Activity();
const sideBySide = new SideBySide();
const liveLog = new LiveLog();
const playground = new Playground();
new Models();
/** Requests of the last minute on every server, whatever the activity filters: the speed column's source. */
let lastMinute: RequestRow[] = [];
let configHash = "";

async function loadStack(): Promise<void> {
  const stack = await getJson<StackView>(PAGE_ROUTES.stack);
  configHash = stack.config_hash;
  servers.setStack(stack.servers);
  activity.setStack(stack);
  liveLog.setStack(stack);
  playground.setStack(stack);
  renderAgents(stack);
}

function tick(): void {
  const now = Date.now();
  lastMinute = lastMinute.filter((row) => now - finishedAt(row) <= SPEED_WINDOW_MS);
  servers.setSpeeds(speedsOverWindow(lastMinute, now));
}

function listen(): void {
  const events = new EventSource(PAGE_ROUTES.events);
  events.addEventListener("open", () => {
    connection.textContent = "live";
    connection.dataset.state = "live";
  });
  events.addEventListener("error", () => {
    connection.textContent = "reconnecting…";
    connection.dataset.state = "down";
  });
  events.addEventListener("servers", (event) => {
    const snapshot = JSON.parse((event as MessageEvent<string>).data) as ServersSnapshot;
    servers.setSnapshot(snapshot);
    if (configHash && snapshot.config_hash !== configHash) void loadStack();
  });
  events.addEventListener("request", (event) => {
    const row = JSON.parse((event as MessageEvent<string>).data) as RequestRow;
    activity.add(row);
    sideBySide.requestFinished();
    lastMinute.push(row);
    tick();
  });
}

async function start(): Promise<void> {
  await loadStack();
  const recent = await getJson<RequestRow[]>(`${PAGE_ROUTES.requests}?limit=200`);
  lastMinute = recent.filter((row) => Date.now() - finishedAt(row) <= SPEED_WINDOW_MS);
  await activity.load();
  await sideBySide.load();
  listen();
  tick();
  setInterval(tick, 1000);
}

start().catch((error: Error) => {
  connection.textContent = `failed to load: ${error.message}`;
  connection.dataset.state = "down";
});
