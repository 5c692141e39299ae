// The dashboard in a real browser (Debian's chromium, driven by playwright-core) against a real
// host with approvals required: the plugins table, approving a pending plugin with the keyboard and
// seeing it become active, a denial arriving live, a plugin's page, the audit trail's verdict, the
// engines; and hostile plugins whose names, error messages, denied values and log lines are markup
// that must stay text. WARDEN_SCREENSHOT=1 also writes docs/console.png (the README's picture).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { approveGrants } from "../../core/consent/grant-decisions.ts";
import { createHost, type Host } from "../../core/host/host.ts";
import { pino } from "pino";
import type { AddressInfo } from "node:net";
import { createConsoleServer } from "../../core/console/console-server.ts";
import { createHostMetrics, type HostMetrics } from "../../core/console/metrics.ts";
import { PluginLogRing } from "../../core/console/recent-rings.ts";
import { escapingHooks } from "../../core/logger.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";

/** The real console over `host`, listening on a free loopback port, as `warden serve` runs it. */
async function startConsole(o: {
  host: Host;
  pluginsDir: string;
  auditLogFile: string;
  token: string;
  logBuffer: PluginLogRing;
  metrics: HostMetrics;
}): Promise<{ url: string; close(): Promise<void> }> {
  const app = createConsoleServer(o);
  await app.listen({ port: 0, host: "127.0.0.1" });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`, close: () => app.close() };
}

const CHROMIUM = "/usr/bin/chromium";
const IMG = "<img src=x onerror=window.__pwned=1>";
const SCRIPT = "<script>window.__pwned=1</script>";
const TOKEN = "dashboard-test-token_0123456789abcdef";

describe("the dashboard in a browser", () => {
  let s: Scratch;
  let host: Host;
  let server: { url: string; close(): Promise<void> };
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const problems: string[] = [];

  before(async () => {
    // Not a skip: a machine without the browser would pass this test without running it.
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: the dashboard's browser test needs Debian's chromium; install it with \`apt-get install -y chromium\` (.ci/run does)`);
    s = scratch();
    s.plugin("app", manifest("d.app", { name: "Weather", permissions: { env: ["WARDEN_DASH_OK"] } }), {
      "index.js": `export const ok = () => 1;
export const deny = () => Warden.env.get("WARDEN_DASH_SECRET").then(() => "got", (e) => e.code);`,
    });
    s.plugin("pending", manifest("d.pending", { version: "2.0.0", permissions: { net: ["api.example.com"], env: ["WARDEN_DASH_OK"] } }), { "index.js": "export const ping = () => 'pong';" });
    s.plugin("evil", manifest("d.evil", { name: `${IMG}${SCRIPT}`, description: SCRIPT }), {
      "index.js": `export function onLoad() { console.log(${JSON.stringify(`loaded ${IMG} ${SCRIPT}`)}); }
export async function attack() {
  console.log(${JSON.stringify(SCRIPT)});
  try { await Warden.fs.readTextFile(${JSON.stringify(`/tmp/${IMG}`)}); } catch {}
  throw new Error(${JSON.stringify(`${IMG} ${SCRIPT}`)});
}`,
    });
    s.plugin("broken", manifest("d.broken", { name: SCRIPT }), { "index.js": `export function onLoad() { throw new Error(${JSON.stringify(`${SCRIPT} ${IMG}`)}); }` });
    for (const id of ["d.app", "d.evil", "d.broken"]) await approveGrants({ pluginsDir: s.root, id, by: "test" });
    const auditLogFile = join(s.root, "audit.jsonl");
    const logBuffer = new PluginLogRing();
    const logger = pino({ level: "info", base: null, hooks: escapingHooks }, logBuffer);
    let metrics: HostMetrics | null = null;
    host = await createHost({ pluginsDir: s.root, approvals: "required", auditLog: auditLogFile, logger, healthIntervalMs: 0, onAudit: (r) => metrics?.observeAudit(r) });
    metrics = createHostMetrics(host);
    await host.loadAll();
    server = await startConsole({ host, pluginsDir: s.root, auditLogFile, token: TOKEN, logBuffer, metrics });
    profile = mkdtempSync(join(tmpdir(), "warden-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1280, height: 860 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    // A CSP violation (an inline script or style the dashboard should not have) is a console error.
    // (The wrong token's 401 is expected, and so is the browser's own request for /favicon.ico.)
    page.on("console", (m) => {
      if (m.type() === "error" && !/401 \(Unauthorized\)/.test(m.text()) && !m.location().url.endsWith("/favicon.ico")) problems.push(`console: ${m.text()} (${m.location().url})`);
    });
  });

  after(async () => {
    await context?.close();
    await server?.close();
    await host?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    s?.cleanup();
  });

  const stateOf = (id: string) => page.locator(`#plugins-table tr[data-plugin="${id}"] td:nth-child(3)`);

  it("asks for the token when the address has none, and refuses a wrong one", async () => {
    await page.goto(server.url);
    await page.locator("#token-input").waitFor();
    assert.equal(await page.locator("#token-input").getAttribute("type"), "password");
    await page.locator("#token-input").fill("wrong");
    await page.keyboard.press("Enter");
    await page.locator("#token-error").filter({ hasText: "refused" }).waitFor();
    assert.ok(await page.locator("#token-view").isVisible());
  });

  it("takes the token from #token=, removes it from the address, and shows every plugin's state", async () => {
    await page.goto(`${server.url}#token=${TOKEN}`);
    await page.locator('#plugins-table tr[data-plugin="d.app"]').waitFor();
    assert.ok(!page.url().includes(TOKEN), page.url());
    assert.equal(await page.evaluate("location.href.includes('token')"), false);
    assert.equal((await stateOf("d.app").textContent())?.trim(), "active");
    assert.equal((await stateOf("d.pending").textContent())?.trim(), "pending");
    assert.equal((await stateOf("d.broken").textContent())?.trim(), "failed");
    await page.locator("#live").filter({ hasText: "Live" }).waitFor();
  });

  it("approves the pending plugin from the queue with the keyboard, and it becomes active", async () => {
    await page.locator('nav a[data-view="approvals"]').focus();
    await page.keyboard.press("Enter");
    const card = page.locator('article.approval[data-plugin="d.pending"]');
    await card.waitFor();
    const growth = (await card.locator(".growth").textContent()) ?? "";
    assert.match(growth, /api\.example\.com/);
    await card.getByRole("button", { name: "Approve d.pending" }).focus();
    await page.keyboard.press("Enter");
    await page.locator("#notice").filter({ hasText: "d.pending: approve done" }).waitFor();
    await page.locator('nav a[data-view="plugins"]').click();
    await stateOf("d.pending").filter({ hasText: "active" }).waitFor();
    assert.equal(host.status().find((p) => p.id === "d.pending")?.state, "active");
  });

  it("shows a denial live, and hostile text as text", async () => {
    assert.equal(await host.invoke("d.app", "deny"), "PERMISSION_DENIED");
    await page.locator("#events li.event-denied").filter({ hasText: "WARDEN_DASH_SECRET" }).waitFor();
    await assert.rejects(host.invoke("d.evil", "attack"));
    await page.locator("#events li.event-denied").filter({ hasText: IMG }).waitFor();
    await page.locator('#plugins-table tr[data-plugin="d.app"] td:nth-child(7)').filter({ hasText: "1" }).waitFor();
    // The broken plugin's reason holds its hostile error message.
    assert.ok(((await page.locator('#plugins-table tr[data-plugin="d.broken"] .why').textContent()) ?? "").includes(SCRIPT));
  });

  it("shows a plugin's page: grants, usage, denials and log, hostile lines as text", async () => {
    await page.locator('#plugins-table a[href="#plugin/d.evil"]').click();
    await page.locator("#plugin-title").filter({ hasText: "d.evil" }).waitFor();
    // The plugin's self-chosen name is shown, as the text it is.
    assert.ok(((await page.locator("#plugin-title").textContent()) ?? "").includes(`${IMG}${SCRIPT}`));
    await page.locator("#plugin-body .log li").filter({ hasText: SCRIPT }).first().waitFor();
    const body = (await page.locator("#plugin-body").textContent()) ?? "";
    assert.ok(body.includes(`/tmp/${IMG}`), "the denied path is shown as text");
    await page.locator('nav a[data-view="plugins"]').click();
    await page.locator('#plugins-table a[href="#plugin/d.app"]').click();
    await page.locator("#plugin-title").filter({ hasText: "d.app" }).waitFor();
    await page.locator("#plugin-body table").filter({ hasText: "permissions.env[0]" }).first().waitFor();
  });

  it("shows the audit trail with its chain verdict, and the engines", async () => {
    await page.locator('nav a[data-view="audit"]').click();
    await page.locator("#audit-verified").filter({ hasText: "Chain verified" }).waitFor();
    await page.locator("#audit-table tbody tr").filter({ hasText: "WARDEN_DASH_SECRET" }).first().waitFor();
    await page.locator('#audit-filters input[name="plugin"]').fill("d.evil");
    await page.locator('#audit-filters select[name="decision"]').selectOption("denied");
    await page.locator("#audit-filters button[type=submit]").click();
    await page.locator("#audit-range").filter({ hasText: "of 1" }).waitFor();
    await page.locator('nav a[data-view="engines"]').click();
    await page.locator("#engines-table tbody tr").filter({ hasText: "d.app" }).waitFor();
  });

  it("ran no hostile markup: no script but its own, no image, no handler attribute, no error", async () => {
    // Evaluated in the page (as text: this project's TypeScript has no DOM types).
    const dom = await page.evaluate(`({
      pwned: window.__pwned,
      imgs: document.querySelectorAll("img").length,
      scripts: [...document.querySelectorAll("script")].map((x) => x.getAttribute("src")),
      handlers: [...document.querySelectorAll("*")].filter((x) => [...x.attributes].some((a) => a.name.startsWith("on"))).length,
    })`);
    assert.deepEqual(dom, { pwned: undefined, imgs: 0, scripts: ["/assets/app.js"], handlers: 0 });
    assert.deepEqual(problems, []);
  });

  it("writes docs/console.png when WARDEN_SCREENSHOT=1", async (t) => {
    if (process.env["WARDEN_SCREENSHOT"] !== "1") {
      t.diagnostic("set WARDEN_SCREENSHOT=1 to write docs/console.png");
      return;
    }
    await page.locator('nav a[data-view="plugins"]').click();
    await page.locator('#plugins-table tr[data-plugin="d.app"]').waitFor();
    await page.screenshot({ path: join(REPO_ROOT, "docs/console.png"), fullPage: false });
  });
});
