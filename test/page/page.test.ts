// rig's page in a real browser (headless Chromium) against the real llama-server and the tiny model,
// through the built CLI: what a person watching and steering the stack sees and does.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { rig, rigJson } from "../support/cli.ts";
import { homesForThisFile, type TestHome } from "../support/home.ts";
import { tinyModel } from "../support/llama.ts";
import { type PsRow, scriptedServer, tinyServers } from "../support/stack.ts";

const CHROMIUM = process.env.RIG_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dirname, "..", "..", "test-artifacts", "page");
const home = homesForThisFile();
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium, or set RIG_CHROMIUM`);
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});
after(async () => {
  await browser?.close();
});

async function started(yaml: string, gateway = "", prepare = (_root: string) => {}): Promise<TestHome> {
  const stack = await home(yaml, { gateway });
  prepare(stack.root);
  const result = await rig(["gateway", "start"], { home: stack.root });
  assert.equal(result.code, 0, result.stderr);
  return stack;
}

/** A page that records every console error and uncaught exception it meets. */
async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(url);
  return { page, errors };
}

/** The text of the first element `selector` finds. */
const text = async (page: Page, selector: string) =>
  (await page.locator(selector).first().textContent()) ?? "";

describe("the page", () => {
  test("watches a request started elsewhere, streams logs, answers in the playground, stops a server, restarts it, works from the keyboard", async () => {
    // The model lives in the home twice: the inventory shows the copy and which server uses the file.
    const model = await tinyModel();
    const yaml = (await tinyServers({ tiny: "" })).replace(JSON.stringify(model), "models/tiny.gguf");
    const stack = await started(
      `${yaml}agents:\n  claude-tiny: { harness: claude-code, server: tiny, request: { defaults: { temperature: 0.2 } } }\n`,
      "",
      (root) => {
        mkdirSync(join(root, "models", "backup"), { recursive: true });
        copyFileSync(model, join(root, "models", "tiny.gguf"));
        copyFileSync(model, join(root, "models", "backup", "tiny.gguf"));
      },
    );

    const { page, errors } = await openPage(`${stack.url}/ui`);
    await page.waitForSelector('#connection[data-state="live"]');
    assert.equal(await text(page, 'tr[data-server="tiny"] td.state'), "stopped");
    await page.screenshot({ path: join(ARTIFACTS, "1-loaded.png"), fullPage: true });

    // Every state the page shows for tiny, in order, while another client starts it.
    await page.evaluate(() => {
      const cell = document.querySelector('tr[data-server="tiny"] td.state')!;
      const seen: string[] = [cell.textContent ?? ""];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => seen.push(cell.textContent ?? "")).observe(cell, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    const answer = await fetch(`${stack.url}/agents/claude-tiny/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "anything",
        messages: [{ role: "user", content: "hello" }],
        max_tokens: 8,
      }),
    });
    assert.equal(answer.status, 200, await answer.text());
    await page.waitForFunction(
      () => document.querySelector('tr[data-server="tiny"] td.state')?.textContent === "ready",
    );
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    assert.deepEqual(
      seen.filter((state, index) => state !== seen[index - 1]),
      ["stopped", "starting", "ready"],
    );
    const row = page.locator("#activity-table tbody tr", { hasText: "claude-tiny" }).first();
    await row.waitFor();
    const cells = await row.locator("td").allTextContents();
    assert.equal(cells[1], "claude-tiny");
    assert.equal(cells[2], "tiny");
    assert.equal(cells[4], "200");
    assert.ok(Number(cells[5]) > 0, `prompt tokens shown: ${cells}`);
    assert.equal(cells[7], "8", "completion tokens");
    assert.match(await text(page, 'tr[data-server="tiny"] td.pid'), /^\d+$/);
    // Agents side by side counts the agent's request on its server, read again as requests finish.
    const sideBySide = page.locator("#side-by-side-table tbody tr", { hasText: "claude-tiny" }).first();
    await sideBySide.waitFor();
    const counts = await sideBySide.locator("td").allTextContents();
    assert.deepEqual(counts.slice(0, 3), ["claude-tiny", "tiny", "1"]);
    assert.equal(counts[4], "0", "no tool calls");

    // The activity filter reads the ledger again: another agent has no requests.
    await page.selectOption("#activity-server", "tiny");
    await page.locator("#activity-table tbody tr").first().waitFor();

    // The server's log streams: llama-server's lines, then the gateway's line for a new request.
    await page.selectOption("#log-source", "tiny");
    await page.waitForFunction(() =>
      /llama|server|model/i.test(document.querySelector("#log-lines")!.textContent!),
    );
    await page.selectOption("#log-source", "gateway");
    await page.waitForFunction(() =>
      /gateway listening/.test(document.querySelector("#log-lines")!.textContent!),
    );
    await fetch(`${stack.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "again" }], max_tokens: 4 }),
    });
    await page.waitForFunction(() =>
      /POST \/v1\/chat\/completions server=tiny status=200/.test(
        document.querySelector("#log-lines")!.textContent!,
      ),
    );

    // The playground streams an answer through the agent's route and shows the agent's rule applied.
    await page.selectOption("#chat-target", "agent:claude-tiny");
    await page.fill("#chat-input", "Say something");
    assert.match(await text(page, "#chat-rules"), /agent claude-tiny defaults \{"temperature":0\.2\}/);
    assert.match(await text(page, "#chat-rules pre"), /"temperature": 0\.2/);
    await page.click("#chat-send");
    await page.waitForFunction(() =>
      /completion \d+/.test(document.querySelector("#chat-transcript .usage")!.textContent!),
    );
    assert.ok((await text(page, "#chat-transcript .message.assistant .text")).length > 0);
    // The inventory is read when its section comes into view.
    await page.locator("#models").scrollIntoViewIfNeeded();
    await page.locator("#models-list tbody tr").first().waitFor();
    assert.match(await text(page, "#models-list"), /copy of/);
    await page.locator("#agents-list article").first().waitFor();
    assert.match(await text(page, "#agents-list"), /rig run claude-tiny/);
    await page.screenshot({ path: join(ARTIFACTS, "2-working.png"), fullPage: true });

    // Stop from the page; the CLI agrees.
    await page.click('button[aria-label="Stop tiny"]');
    await page.waitForFunction(
      () => document.querySelector('tr[data-server="tiny"] td.state')?.textContent === "stopped",
    );
    const [tiny] = await rigJson<PsRow[]>(["ps", "--all"], { home: stack.root });
    assert.equal(tiny!.state, "stopped");

    // Every enabled control has a name and is reached with Tab; Enter on Start starts the server; Restart
    // brings up a new process.
    const snapshot = await page.locator("body").ariaSnapshot();
    const controls = snapshot
      .split("\n")
      .filter((line) => /- (button|combobox|textbox|checkbox|link)\b/.test(line));
    assert.ok(controls.length > 10, snapshot);
    for (const control of controls)
      assert.match(control, /- \w+ "[^"]+"/, `a control without a label: ${control}`);
    const focusable = await page.evaluate(() => {
      const elements = document.querySelectorAll<HTMLElement>(
        "a[href], button:not(:disabled), select, textarea, input, summary, [tabindex='0']",
      );
      elements.forEach((element, index) => {
        element.dataset.key = String(index);
      });
      return elements.length;
    });
    const reached = new Set<string>();
    await page.locator("body").focus();
    for (let press = 0; press < focusable + 5; press++) {
      await page.keyboard.press("Tab");
      const key = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.key);
      if (key !== undefined) reached.add(key);
    }
    assert.equal(reached.size, focusable, "every control is reached with Tab");
    await page.focus('button[aria-label="Start tiny"]');
    await page.keyboard.press("Enter");
    await page.waitForFunction(
      () => document.querySelector('tr[data-server="tiny"] td.state')?.textContent === "ready",
      undefined,
      { timeout: 60_000 },
    );
    const pid = await text(page, 'tr[data-server="tiny"] td.pid');
    await page.click('button[aria-label="Restart tiny"]');
    await page.waitForFunction(
      (before) => {
        const row = document.querySelector('tr[data-server="tiny"]')!;
        const pid = row.querySelector("td.pid")?.textContent;
        return row.querySelector("td.state")?.textContent === "ready" && pid && pid !== before;
      },
      pid,
      { timeout: 60_000 },
    );
    await page.screenshot({
      path: join(ARTIFACTS, "3-started-by-keyboard-then-restarted.png"),
      fullPage: true,
    });
    assert.deepEqual(errors, [], "no console errors");
  });

  test("with an api key the page asks for it once and keeps an HttpOnly, SameSite=Strict cookie that is not the key", async () => {
    const stack = await started(`servers:\n${scriptedServer("echo")}`, ', api_key: "k3y-for-page-tests"');
    const { page, errors } = await openPage(`${stack.url}/ui`);
    assert.match(page.url(), /\/ui\/login$/);
    await page.fill("#key", "wrong");
    await page.click("button[type=submit]");
    assert.match(await text(page, "[role=alert]"), /not the gateway's api key/);
    // That answer's 401 is the one error the browser reports: the signed-in page must have none.
    errors.length = 0;
    await page.fill("#key", "k3y-for-page-tests");
    await page.click("button[type=submit]");
    await page.waitForSelector('#connection[data-state="live"]');
    const [cookie] = await page.context().cookies();
    assert.equal(cookie!.httpOnly, true);
    assert.equal(cookie!.sameSite, "Strict");
    assert.notEqual(cookie!.value, "k3y-for-page-tests", "the cookie does not hold the key");
    const withCookie = await fetch(`${stack.url}/v1/models`, {
      headers: { cookie: `${cookie!.name}=${cookie!.value}` },
    });
    assert.equal(withCookie.status, 200, "the guard takes the cookie as the key");
    assert.equal((await fetch(`${stack.url}/v1/models`)).status, 401);
    // The page's state-changing calls carry the admin token: the start button works.
    await page.click('button[aria-label="Start echo"]');
    await page.waitForFunction(
      () => document.querySelector('tr[data-server="echo"] td.state')?.textContent === "ready",
    );
    await page.reload();
    await page.waitForSelector('#connection[data-state="live"]');
    assert.match(page.url(), /\/ui$/, "asked once: a reload stays signed in");
    assert.deepEqual(errors, []);
  });
});
