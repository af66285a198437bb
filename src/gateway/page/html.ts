import { statsColumns } from "../../ledger/stats.ts";
import { ADMIN_TOKEN_META, SIDE_BY_SIDE_KEYS } from "./protocol.ts";

// The page's HTML: a skeleton the script fills. Pure: what it shows in, text out.

const escapes: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => escapes[character]!);
}

/** The agents-side-by-side table's head, from the columns `rig stats` prints. */
function sideBySideHead(): string {
  return statsColumns(SIDE_BY_SIDE_KEYS)
    .map(
      (column) =>
        `<th scope="col"${column.hint ? ` title="${escapeHtml(column.hint)}"` : ""}>${escapeHtml(column.title)}</th>`,
    )
    .join("");
}

/**
 * Only files the daemon serves, no inline script or style, no frames around it: a page that can stop
 * servers must not be framed by another site, nor load anything from outside.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function head(title: string, stylesheets: string[], extra = ""): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
${stylesheets.map((name) => `<link rel="stylesheet" href="/ui/${name}">\n`).join("")}${extra}</head>`;
}

export interface PageFacts {
  home: string;
  version: string;
  /** The home's admin token: the page sends it on the admin routes that change state. */
  adminToken: string;
}

export function pageHtml(facts: PageFacts): string {
  const section = (id: string, title: string, body: string) =>
    `<section id="${id}" aria-labelledby="${id}-title"><h2 id="${id}-title">${title}</h2>\n${body}\n</section>`;
  return `${head(
    `rig · ${facts.home}`,
    ["uPlot.min.css", "style.css"],
    `<meta name="${ADMIN_TOKEN_META}" content="${escapeHtml(facts.adminToken)}">
<script type="module" src="/ui/app.js"></script>
`,
  )}
<body>
<header>
<h1>rig</h1>
<span class="home" title="rig ${escapeHtml(facts.version)}">${escapeHtml(facts.home)}</span>
<nav aria-label="Sections">
<a href="#servers">Servers</a><a href="#activity">Activity</a><a href="#logs">Live log</a><a href="#playground">Playground</a><a href="#agents">Agents</a><a href="#models">Models</a>
</nav>
<span id="connection" role="status">connecting…</span>
</header>
<main>
${section(
  "servers",
  "Servers",
  `<div class="scroll"><table id="servers-table"><thead><tr>
<th scope="col">server</th><th scope="col">state</th><th scope="col">runtime</th><th scope="col">model</th><th scope="col">port</th><th scope="col">pid</th><th scope="col">uptime</th><th scope="col">ttl left</th><th scope="col">requests</th><th scope="col">tok/s (1 min)</th><th scope="col">memory</th><th scope="col">last exit</th><th scope="col">actions</th>
</tr></thead><tbody></tbody></table></div>
<p id="servers-message" role="status"></p>`,
)}
${section(
  "activity",
  "Activity",
  `<div class="filters">
<label for="activity-agent">Agent</label><select id="activity-agent"><option value="">all agents</option></select>
<label for="activity-server">Server</label><select id="activity-server"><option value="">all servers</option></select>
</div>
<div class="charts"><figure id="activity-tokens" aria-label="Tokens per request over time"></figure><figure id="activity-speed" aria-label="Tokens per second over time"></figure></div>
<h3>Agents side by side <small>(last 24 hours; <code>rig stats</code>)</small></h3>
<div class="scroll"><table id="side-by-side-table"><thead><tr>
${sideBySideHead()}
</tr></thead><tbody></tbody></table></div>
<div class="scroll"><table id="activity-table"><thead><tr>
<th scope="col">time</th><th scope="col">agent</th><th scope="col">server</th><th scope="col">route</th><th scope="col">status</th><th scope="col">prompt</th><th scope="col">cached</th><th scope="col">completion</th><th scope="col">ttft</th><th scope="col">tok/s</th>
</tr></thead><tbody></tbody></table></div>`,
)}
${section(
  "logs",
  "Live log",
  `<div class="filters"><label for="log-source">Log of</label><select id="log-source"><option value="gateway">gateway</option></select>
<label class="inline"><input type="checkbox" id="log-follow" checked> scroll to new lines</label></div>
<pre id="log-lines" role="log" tabindex="0" aria-label="Log lines"></pre>`,
)}
${section(
  "playground",
  "Playground",
  `<form id="chat-form">
<div class="filters"><label for="chat-target">Send to</label><select id="chat-target"></select></div>
<div id="chat-rules" class="rules"></div>
<div id="chat-transcript" aria-live="polite"></div>
<label for="chat-input">Message</label>
<textarea id="chat-input" rows="3" required></textarea>
<div class="buttons"><button type="submit" id="chat-send">Send</button><button type="button" id="chat-stop" disabled>Stop</button><button type="button" id="chat-clear">New chat</button></div>
</form>`,
)}
${section("agents", "Agents", `<div id="agents-list"></div>`)}
${section(
  "models",
  "Models",
  `<p><button type="button" id="models-scan">Scan model folders</button> <span id="models-summary" role="status"></span></p>
<div id="models-list"></div>`,
)}
</main>
</body>
</html>
`;
}

/** The sign-in form shown when the gateway has an api key and the browser has not given it yet. */
export function loginHtml(home: string, wrongKey: boolean): string {
  // Its stylesheet is the one file under /ui served without the key (guard.ts).
  return `${head(`rig · sign in · ${home}`, ["style.css"])}
<body class="login">
<main>
<h1>rig</h1>
<p>This gateway (${escapeHtml(home)}) needs its api key (<code>gateway.api_key</code> in rig.yaml). The browser keeps a sign-in cookie derived from it, not the key itself.</p>
${wrongKey ? '<p class="error" role="alert">That is not the gateway\'s api key.</p>\n' : ""}<form method="post" action="/ui/login">
<label for="key">API key</label>
<input type="password" id="key" name="key" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}
