// The console's admin API as an operator and as an attacker use it: a real host over a scratch
// plugins directory (approvals required), the server on port 0, every call made with fetch.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import type { FastifyInstance } from "fastify";
import { createConsoleServer, SECURITY_HEADERS } from "../../core/console/console-server.ts";
import { request as httpRequest } from "node:http";
import { FailureLimiter } from "../../core/console/console-token.ts";
import { PluginLogRing } from "../../core/console/recent-rings.ts";
import { createHost, type Host } from "../../core/host/host.ts";
import { escapingHooks } from "../../core/logger.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";

const SCRIPT = "<script>alert(1)</script>";
const IMG = "<img src=x onerror=alert(1)>";
const TOKEN = "t".repeat(43);

type Json = Record<string, unknown> & { error?: { code: string; message: string } };

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** Poll `check` until it returns a value (or fail after `ms`). */

describe("console admin API", () => {
  let s: Scratch;
  let host: Host;
  let app: FastifyInstance;
  let base: string;
  let auditFile: string;
  let dashboard: string;
  const ring = new PluginLogRing();

  const api = async (path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: Json; headers: Headers; text: string }> => {
    const { json, ...rest } = init;
    const r = await fetch(`${base}${path}`, {
      ...rest,
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      headers: { authorization: `Bearer ${TOKEN}`, ...(json !== undefined ? { "content-type": "application/json" } : {}), ...(rest.headers as Record<string, string> | undefined) },
    });
    const text = await r.text();
    let body: Json = {};
    try {
      body = JSON.parse(text) as Json;
    } catch {
      // not JSON (metrics, the dashboard)
    }
    return { status: r.status, body, headers: r.headers, text };
  };
  const post = (path: string, json?: unknown) => api(path, { method: "POST", ...(json !== undefined ? { json } : {}) });
  const adminRecords = () =>
    readFileSync(auditFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r["type"] === "admin");

  before(async () => {
    s = scratch();
    auditFile = join(s.root, "audit.jsonl");
    const plugins = join(s.root, "plugins");
    mkdirSync(plugins);
    const sp = { ...s, plugin: (name: string, m: object, files: Record<string, string>) => s.plugin(join("plugins", name), m, files) };
    sp.plugin("good", manifest("test.good", { permissions: { read: ["data/"] } }), {
      "index.js": `export function hello() { console.log("hello from good"); return "hi"; }
export async function peek() { return Warden.fs.readTextFile("/etc/hostname"); }`,
      "data/x.txt": "x",
    });
    sp.plugin("hostile", manifest("test.hostile", { name: SCRIPT, description: IMG }), {
      "index.js": `export function boom() { throw new Error(${JSON.stringify(SCRIPT)}); }
export function shout() { console.log(${JSON.stringify(SCRIPT)}); console.warn(${JSON.stringify(IMG)}); return 1; }`,
    });
    dashboard = join(s.root, "dashboard");
    mkdirSync(dashboard);
    writeFileSync(join(dashboard, "index.html"), '<!doctype html><html><head><script src="/assets/app.js"></script></head><body></body></html>\n');
    writeFileSync(join(dashboard, "app.js"), "document.title = 'warden';\n");
    writeFileSync(join(dashboard, "app.css"), "body { margin: 0 }\n");
    writeFileSync(join(dashboard, "notes.txt"), "not a dashboard file type\n");
    symlinkSync(join(plugins, "good", "plugin.json"), join(dashboard, "linked.js"));
    const logger = pino({ level: "info", base: null, hooks: escapingHooks }, ring);
    host = await createHost({ pluginsDir: plugins, auditLog: auditFile, approvals: "required", logger, healthIntervalMs: 0, watch: false });
    await host.loadAll();
    app = createConsoleServer({
      host,
      pluginsDir: plugins,
      auditLogFile: auditFile,
      token: TOKEN,
      logBuffer: ring,
      dashboardDir: dashboard,
      // The 401 tests below fail many times from 127.0.0.1; the limit itself is tested on a server of its own.
      limiter: new FailureLimiter({ maxFailures: 1000 }),
      metrics: { contentType: "text/plain; version=0.0.4; charset=utf-8", render: async () => 'warden_plugins{state="active"} 1\n' },
    });
    base = await listen(app);
  });
  after(async () => {
    await app.close();
    await host.close();
    s.cleanup();
  });

  describe("the token", () => {
    it("no token: 401 UNAUTHORIZED with WWW-Authenticate, naming where the token is (control: with it, 200)", async () => {
      const r = await fetch(`${base}/api/plugins`);
      assert.equal(r.status, 401);
      assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer/);
      const body = (await r.json()) as Json;
      assert.equal(body.error?.code, "UNAUTHORIZED");
      assert.match(body.error?.message ?? "", /Authorization: Bearer <token>; the token is in .*warden-console\.token/);
      assert.equal((await api("/api/plugins")).status, 200);
    });

    it("a wrong token, a token of another length, a Basic header: 401 on every route, /metrics included", async () => {
      for (const path of ["/api/plugins", "/api/plugins/test.good", "/api/audit", "/api/engines", "/api/events", "/metrics", "/api/nothing-here"]) {
        for (const authorization of [`Bearer ${"u".repeat(43)}`, `Bearer ${TOKEN}x`, `Basic ${Buffer.from(`a:${TOKEN}`).toString("base64")}`, "Bearer"]) {
          const r = await fetch(`${base}${path}`, { headers: { authorization } });
          assert.equal(r.status, 401, `${path} with ${authorization}`);
        }
      }
    });

    it("the token in the query string or a cookie is never accepted (control: the same token in the header is)", async () => {
      for (const q of [`?token=${TOKEN}`, `?access_token=${TOKEN}`]) {
        const r = await fetch(`${base}/api/plugins${q}`);
        assert.equal(r.status, 401);
        assert.match(((await r.json()) as Json).error?.message ?? "", /never accepted/);
      }
      assert.equal((await fetch(`${base}/api/plugins`, { headers: { cookie: `token=${TOKEN}` } })).status, 401);
      assert.equal((await fetch(`${base}/api/plugins`, { headers: { authorization: `bearer ${TOKEN}` } })).status, 200);
    });

    it("unauthenticated requests are refused before validation: a bad body or query answers 401, not 400", async () => {
      const r = await fetch(`${base}/api/plugins/test.good/approve`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"only":["bogus"]}' });
      assert.equal(r.status, 401);
      assert.equal((await fetch(`${base}/api/audit?limit=5000`)).status, 401);
    });
  });

  describe("security headers", () => {
    it("the CSP and the others are on /, on /api/plugins, on /metrics, on errors and on the event stream", async () => {
      const responses = [await api("/"), await api("/api/plugins"), await api("/metrics"), await fetch(`${base}/api/plugins`), await api("/api/plugins/test.nothere"), await api("/assets/app.css")];
      for (const r of responses) {
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) assert.equal(r.headers.get(k), v, k);
      }
      const ac = new AbortController();
      const sse = await fetch(`${base}/api/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
      assert.equal(sse.headers.get("content-security-policy"), SECURITY_HEADERS["content-security-policy"]);
      ac.abort();
    });
  });

  describe("reading", () => {
    it("GET /api/plugins: every plugin's status; both pending (approvals required)", async () => {
      const r = await api("/api/plugins");
      const plugins = r.body["plugins"] as Array<{ id: string; state: string; approval: { state: string } }>;
      assert.deepEqual(plugins.map((p) => [p.id, p.state, p.approval.state]).sort(), [
        ["test.good", "pending", "pending"],
        ["test.hostile", "pending", "pending"],
      ]);
      assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
    });

    it("GET /api/approvals and /api/approvals/:id/diff: what each asks for and what grew", async () => {
      const r = await api("/api/approvals");
      const good = (r.body["plugins"] as Array<{ id: string; state: string; growth: string[] }>).find((p) => p.id === "test.good");
      assert.equal(good?.state, "pending");
      assert.deepEqual(good?.growth, ['permissions.read[0] "data/" is new']);
      const d = await api("/api/approvals/test.good/diff");
      assert.equal(d.status, 200);
      assert.deepEqual(d.body["grew"], ['permissions.read[0] "data/" is new']);
      assert.equal((await api("/api/approvals/test.nothere/diff")).body.error?.code, "NOT_FOUND");
    });

    it("GET /api/engines", async () => {
      const r = await api("/api/engines");
      assert.equal(r.status, 200);
      assert.ok(Array.isArray(r.body["engines"]) && Array.isArray(r.body["spare"]));
      assert.equal(typeof r.body["restarts"], "number");
      assert.equal(r.body["sandboxed"], host.sandboxed);
    });

    it("GET /metrics serves the metrics object's text and content type", async () => {
      const r = await api("/metrics");
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      assert.equal(r.text, 'warden_plugins{state="active"} 1\n');
    });
  });

  describe("validation", () => {
    it("a malformed id is 400 BAD_INPUT naming params.id; a well-formed unknown one is 404 NOT_FOUND", async () => {
      for (const id of ["BAD", "a..b", "x", "%2e%2e%2fetc", "test.good%2f..", "a".repeat(240) + ".b"]) {
        const r = await api(`/api/plugins/${id}`);
        assert.equal(r.status, 400, id);
        assert.equal(r.body.error?.code, "BAD_INPUT");
        assert.match(r.body.error?.message ?? "", /params\.id/);
      }
      const r = await api("/api/plugins/test.nothere");
      assert.equal(r.status, 404);
      assert.equal(r.body.error?.code, "NOT_FOUND");
      assert.match(r.body.error?.message ?? "", /no plugin test\.nothere .*plugins: test\.good, test\.hostile/);
    });

    it("limit 5000, a negative offset, a malformed from, an unknown query field: 400 naming the field", async () => {
      const cases: Array<[string, RegExp]> = [
        ["limit=5000", /querystring\.limit.*<= 1000/],
        ["offset=-1", /querystring\.offset/],
        ["from=yesterday", /querystring\.from.*not an ISO time/],
        ["to=2024-13-45T99:00:00Z", /querystring\.to/],
        ["decision=maybe", /querystring\.decision/],
        ["colour=red", /querystring\.colour.*not a field/],
      ];
      for (const [q, message] of cases) {
        const r = await api(`/api/audit?${q}`);
        assert.equal(r.status, 400, q);
        assert.equal(r.body.error?.code, "BAD_INPUT");
        assert.match(r.body.error?.message ?? "", message);
      }
    });

    it("approve with an unknown kind, a non-integer quota, an unknown field, a past expiry, a body that is not JSON: 400, nothing approved", async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{ only: ["bogus"] }, /body\.only\[0\].*read, write, net/],
        [{ quotas: { netRequestsPerMinute: 1.5 } }, /body\.quotas\.netRequestsPerMinute/],
        [{ quotas: { netRequestsPerMinute: "5" } }, /body\.quotas\.netRequestsPerMinute/],
        [{ everything: true }, /body\.everything.*not a field/],
        [{ expires: "2001-01-01" }, /not in the future/],
        [{ expires: "soon" }, /not an ISO time/],
      ];
      for (const [body, message] of cases) {
        const r = await post("/api/plugins/test.good/approve", body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(r.body.error?.message ?? "", message);
      }
      const raw = await api("/api/plugins/test.good/approve", { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
      assert.equal(raw.status, 400);
      assert.equal(raw.body.error?.code, "BAD_INPUT");
      assert.equal(host.status().find((p) => p.id === "test.good")?.state, "pending");
      assert.deepEqual(
        adminRecords().filter((r) => r["plugin"] === "test.good"),
        [],
        "a request refused by validation performs nothing and records nothing",
      );
    });
  });

  describe("acting", () => {
    it("approve a pending plugin: it becomes active; admin records before (requested) and after (done)", async () => {
      const r = await post("/api/plugins/test.good/approve");
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body["ok"], true);
      assert.equal((r.body["plugin"] as { state: string }).state, "active");
      assert.equal(await host.invoke("test.good", "hello"), "hi");
      const records = adminRecords().filter((x) => x["plugin"] === "test.good" && x["action"] === "approve");
      assert.deepEqual(
        records.map((x) => [x["outcome"], x["by"], x["address"]]),
        [
          ["requested", "console", "127.0.0.1"],
          ["done", "console", "127.0.0.1"],
        ],
      );
    });

    it("GET /api/plugins/:id: grant rows of the running manifest, usage, recent denials and log lines", async () => {
      await assert.rejects(host.invoke("test.good", "peek"), { code: "PERMISSION_DENIED" });
      const r = await until("a denial and a log line", async () => {
        const x = await api("/api/plugins/test.good");
        const log = x.body["log"] as Array<{ msg: string }>;
        return (x.body["denials"] as unknown[]).length > 0 && log.some((l) => l.msg === "hello from good") ? x : undefined;
      });
      assert.equal((r.body["plugin"] as { id: string }).id, "test.good");
      assert.deepEqual(
        (r.body["grants"] as Array<{ kind: string; rule: string; source: string }>).map((g) => [g.kind, g.rule, g.source]),
        [["read", "data/", "permissions.read[0]"]],
      );
      const usage = r.body["usage"] as { denials: number };
      assert.ok(usage.denials >= 1);
      const [denial] = r.body["denials"] as Array<{ permission: string; value: string; time: string }>;
      assert.equal(denial?.permission, "read");
      assert.equal(denial?.value, "/etc/hostname");
      assert.deepEqual(r.body["about"], { name: "test.good", description: null });
    });

    it("a hostile plugin's name, description, error and log lines come back as JSON strings; the dashboard never contains them", async () => {
      assert.equal((await post("/api/plugins/test.hostile/approve", { only: ["read"], quotas: { netRequestsPerMinute: 5 } })).status, 200);
      await assert.rejects(host.invoke("test.hostile", "boom"), (e: Error) => e.message.includes(SCRIPT));
      await host.invoke("test.hostile", "shout");
      const r = await until("the hostile plugin's log lines", async () => {
        const x = await api("/api/plugins/test.hostile");
        return (x.body["log"] as Array<{ msg: string }>).some((l) => l.msg === IMG) ? x : undefined;
      });
      assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(r.body["about"], { name: SCRIPT, description: IMG });
      const log = r.body["log"] as Array<{ level: string; msg: string }>;
      assert.ok(log.some((l) => l.level === "info" && l.msg === SCRIPT));
      assert.ok(log.some((l) => l.level === "warn" && l.msg === IMG));
      const audit = await api(`/api/audit?plugin=test.hostile&type=error`);
      assert.equal(audit.status, 200);
      for (const page of ["/", "/assets/app.js", "/assets/app.css"]) {
        const d = await api(page);
        assert.equal(d.status, 200, page);
        assert.ok(!d.text.includes("<script>alert") && !d.text.includes("onerror"), `${page} holds no plugin text`);
      }
    });

    it("deny, then approve again; revoke: every grant stops, the plugin stays loaded", async () => {
      const d = await post("/api/plugins/test.hostile/deny", { reason: `no ${SCRIPT}` });
      assert.equal(d.status, 200, d.text);
      assert.equal((d.body["plugin"] as { approval: { state: string } }).approval.state, "denied");
      const r = await post("/api/plugins/test.good/revoke", { reason: "suspicious" });
      assert.equal(r.status, 200, r.text);
      const st = r.body["plugin"] as { state: string; revoked: string | null; approval: { state: string } };
      assert.equal(st.approval.state, "revoked");
      assert.equal(st.revoked, "suspicious");
      await assert.rejects(host.invoke("test.good", "peek"), { code: "PERMISSION_DENIED" });
      assert.equal((await post("/api/plugins/test.good/approve")).status, 200);
      await until("test.good active again", () => (host.status().find((p) => p.id === "test.good")?.revoked === null ? true : undefined));
    });

    it("release, reload, unload; a refused action is 409 with warden's code and its admin record says refused", async () => {
      assert.equal((await post("/api/plugins/test.good/release")).status, 200);
      const rl = await post("/api/plugins/test.good/reload");
      assert.equal(rl.status, 200, rl.text);
      assert.equal((rl.body["plugin"] as { state: string }).state, "active");
      const un = await post("/api/plugins/test.good/unload");
      assert.equal(un.status, 200, un.text);
      assert.equal((un.body["plugin"] as { state: string }).state, "stopped");
      const again = await post("/api/plugins/test.good/release");
      assert.equal(again.status, 409);
      assert.equal(again.body.error?.code, "PLUGIN_ERROR");
      assert.match(again.body.error?.message ?? "", /plugin test\.good is stopped/);
      const last = adminRecords().filter((x) => x["plugin"] === "test.good" && x["action"] === "release");
      assert.deepEqual(
        last.map((x) => [x["outcome"], x["code"] ?? null]),
        [
          ["requested", null],
          ["done", null],
          ["requested", null],
          ["refused", "PLUGIN_ERROR"],
        ],
      );
    });

    it("an unknown id on a mutating route: 404, recorded as refused, nothing done", async () => {
      const r = await post("/api/plugins/test.nothere/revoke");
      assert.equal(r.status, 404);
      assert.deepEqual(
        adminRecords()
          .filter((x) => x["plugin"] === "test.nothere")
          .map((x) => [x["action"], x["outcome"], x["code"]]),
        [["revoke", "refused", "NOT_FOUND"]],
      );
    });

    it("every mutating call left admin records: approve, deny, revoke, release, reload, unload", () => {
      const actions = new Set(adminRecords().map((x) => x["action"]));
      for (const a of ["approve", "deny", "revoke", "release", "reload", "unload"]) assert.ok(actions.has(a), a);
    });
  });

  describe("the audit trail", () => {
    it("filters by plugin, type and decision, pages with offset and limit, newest last, and verifies the chain", async () => {
      const all = await api("/api/audit?limit=1000");
      assert.equal(all.status, 200);
      const verified = all.body["verified"] as { ok: boolean; records: number; head: string };
      assert.equal(verified.ok, true);
      assert.equal(verified.head, host.audit.head);
      assert.equal(all.body["total"], verified.records);
      const admin = await api("/api/audit?type=admin&plugin=test.good");
      const recs = admin.body["records"] as Array<{ type: string; plugin: string; seq: number }>;
      assert.ok(recs.length >= 10);
      assert.ok(recs.every((x) => x.type === "admin" && x.plugin === "test.good"));
      assert.ok(
        recs.every((x, i) => i === 0 || x.seq > (recs[i - 1]?.seq ?? 0)),
        "newest last",
      );
      const page = await api("/api/audit?type=admin&plugin=test.good&offset=2&limit=3");
      assert.deepEqual(
        (page.body["records"] as Array<{ seq: number }>).map((x) => x.seq),
        recs.slice(2, 5).map((x) => x.seq),
      );
      assert.equal(page.body["total"], recs.length);
      assert.equal(page.body["limit"], 3);
      const denied = await api("/api/audit?decision=denied");
      assert.ok((denied.body["records"] as Array<{ decision: string }>).length >= 1);
      assert.ok((denied.body["records"] as Array<{ decision: string }>).every((x) => x.decision === "denied"));
    });

    it("from and to select by time", async () => {
      const future = await api("/api/audit?from=2999-01-01");
      assert.equal(future.body["total"], 0);
      const past = await api("/api/audit?to=2000-01-01T00:00:00Z");
      assert.equal(past.body["total"], 0);
      const now = await api(`/api/audit?from=2000-01-01&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
      assert.ok((now.body["total"] as number) > 0);
    });

    it("an edited log is reported: verified.ok false with the line (control: intact above)", async () => {
      const text = readFileSync(auditFile, "utf8");
      const copy = join(s.root, "tampered.jsonl");
      writeFileSync(copy, text.replace('"action":"deny"', '"action":"DENY"'));
      const other = createConsoleServer({ host, pluginsDir: join(s.root, "plugins"), auditLogFile: copy, token: TOKEN });
      const url = await listen(other);
      try {
        const r = await fetch(`${url}/api/audit`, { headers: { authorization: `Bearer ${TOKEN}` } });
        const v = ((await r.json()) as { verified: { ok: boolean; line: number } }).verified;
        assert.equal(v.ok, false);
        assert.ok(v.line > 0);
      } finally {
        await other.close();
      }
    });
  });

  describe("the event stream", () => {
    it("delivers a host event as `data: <json>` and stops listening when the client goes", async () => {
      const ac = new AbortController();
      const r = await fetch(`${base}/api/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /^text\/event-stream/);
      const reader = (r.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      const timer = setTimeout(() => ac.abort(), 5000);
      await post("/api/plugins/test.good/reload");
      let found: { type: string; plugin: string } | null = null;
      try {
        while (found === null) {
          const { value, done } = await reader.read();
          if (done) break;
          buffered += decoder.decode(value, { stream: true });
          for (const chunk of buffered.split("\n\n")) {
            const m = /^data: (.*)$/m.exec(chunk);
            if (m?.[1] === undefined) continue;
            const e = JSON.parse(m[1]) as { type: string; plugin: string };
            if (e.plugin === "test.good") found = e;
          }
        }
      } finally {
        clearTimeout(timer);
        ac.abort();
      }
      assert.ok(found !== null, `an event for test.good; got ${buffered.slice(0, 300)}`);
    });
  });

  describe("the dashboard's files", () => {
    it("/ is index.html; /assets/:file serves the directory's files with their content types", async () => {
      const index = await api("/");
      assert.match(index.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(index.text, /assets\/app\.js/);
      assert.match((await api("/assets/app.js")).headers.get("content-type") ?? "", /^text\/javascript/);
      assert.match((await api("/assets/app.css")).headers.get("content-type") ?? "", /^text\/css/);
      assert.equal((await fetch(`${base}/assets/app.js`)).status, 200, "no token needed for the files");
    });

    it("no traversal, no link, no file of another type (control: app.js above)", async () => {
      for (const p of [
        "/assets/..%2Fplugins%2Fgood%2Fplugin.json",
        "/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/assets/../audit.jsonl",
        "/assets/linked.js",
        "/assets/notes.txt",
        "/assets/missing.js",
      ]) {
        const r = await fetch(`${base}${p}`);
        assert.ok(r.status === 404 || r.status === 401, `${p}: ${r.status}`);
        const text = await r.text();
        assert.ok(!text.includes('"permissions"') && !text.includes("root:"), p);
      }
    });

    it("without a dashboard directory, / is a placeholder page", async () => {
      const other = createConsoleServer({ host, pluginsDir: join(s.root, "plugins"), auditLogFile: auditFile, token: TOKEN, dashboardDir: join(s.root, "no-such-dir") });
      const url = await listen(other);
      try {
        const r = await fetch(`${url}/`);
        assert.equal(r.status, 200);
        assert.match(await r.text(), /dashboard's files are not installed/);
      } finally {
        await other.close();
      }
    });
  });

  describe("DNS rebinding", () => {
    it("a loopback console answers only to loopback names in Host: a rebound name is refused, for the dashboard's files too (control: 127.0.0.1 and localhost)", async () => {
      const other = createConsoleServer({ host, pluginsDir: join(s.root, "plugins"), auditLogFile: auditFile, token: TOKEN, allowedHosts: ["127.0.0.1", "localhost", "[::1]"] });
      const url = new URL(await listen(other));
      const ask = (hostHeader: string, path: string) =>
        new Promise<{ status: number; body: string }>((done, fail) => {
          const req = httpRequest({ host: "127.0.0.1", port: url.port, path, headers: { host: hostHeader, authorization: `Bearer ${TOKEN}` } }, (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c.toString()));
            res.on("end", () => done({ status: res.statusCode ?? 0, body }));
          });
          req.on("error", fail);
          req.end();
        });
      try {
        for (const name of [`127.0.0.1:${url.port}`, `localhost:${url.port}`, `LOCALHOST:${url.port}`]) assert.equal((await ask(name, "/api/plugins")).status, 200, name);
        for (const name of [`attacker.example:${url.port}`, "attacker.example", `127.0.0.1.attacker.example:${url.port}`, `localhost.:${url.port}`]) {
          for (const path of ["/api/plugins", "/"]) {
            const r = await ask(name, path);
            assert.equal(r.status, 401, `${name} ${path}`);
            assert.match(r.body, /answers only to 127\.0\.0\.1, localhost, \[::1\] in the Host header/);
          }
        }
      } finally {
        await other.close();
      }
    });
  });

  describe("guessing the token", () => {
    it("10 failures from one address within the window: 429 until the window ends, the right token too; then it is accepted", async () => {
      let now = 1_000_000;
      const limiter = new FailureLimiter({ now: () => now });
      const other = createConsoleServer({ host, pluginsDir: join(s.root, "plugins"), auditLogFile: auditFile, token: TOKEN, limiter });
      const url = await listen(other);
      const get = (token: string) => fetch(`${url}/api/plugins`, { headers: { authorization: `Bearer ${token}` } });
      try {
        assert.equal((await get(TOKEN)).status, 200, "control: the right token works");
        for (let i = 0; i < 10; i++) assert.equal((await get(`guess${i}`.padEnd(43, "x"))).status, 401, `guess ${i}`);
        const blocked = await get("guess-eleven".padEnd(43, "x"));
        assert.equal(blocked.status, 429);
        assert.equal(((await blocked.json()) as Json).error?.code, "RATE_LIMITED");
        assert.ok(Number(blocked.headers.get("retry-after")) > 0);
        // The right token is refused too while blocked: otherwise guesses would go on being checked.
        assert.equal((await get(TOKEN)).status, 429);
        assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 429);
        now += 60_001;
        assert.equal((await get(TOKEN)).status, 200);
      } finally {
        await other.close();
      }
    });

    it("only an Authorization header counts: query-string tokens and bare requests never lock the address (control: 2 wrong headers with maxFailures 2 do)", async () => {
      const limiter = new FailureLimiter({ maxFailures: 2 });
      const other = createConsoleServer({ host, pluginsDir: join(s.root, "plugins"), auditLogFile: auditFile, token: TOKEN, limiter });
      const url = await listen(other);
      const get = (init: RequestInit = {}, q = "") => fetch(`${url}/api/plugins${q}`, init);
      const right = { headers: { authorization: `Bearer ${TOKEN}` } };
      try {
        for (let i = 0; i < 5; i++) {
          assert.equal((await get({}, `?token=guess${i}`)).status, 401);
          assert.equal((await get({}, `?access_token=guess${i}`)).status, 401);
          assert.equal((await get()).status, 401);
        }
        assert.equal(limiter.size, 0, "nothing was counted");
        assert.equal((await get(right)).status, 200);
        for (let i = 0; i < 2; i++) assert.equal((await get({ headers: { authorization: `Bearer wrong${i}` } })).status, 401);
        assert.equal((await get(right)).status, 429, "control: wrong Authorization headers still count");
      } finally {
        await other.close();
      }
    });

    it("requests another site's page made are refused uncounted, the right token too; same-origin, typed and non-browser requests pass", async () => {
      const limiter = new FailureLimiter({ maxFailures: 1 });
      const other = createConsoleServer({ host, pluginsDir: join(s.root, "plugins"), auditLogFile: auditFile, token: TOKEN, limiter });
      const url = await listen(other);
      const own = url.replace(/^http:\/\//, "");
      const get = (headers: Record<string, string>) => fetch(`${url}/api/plugins`, { headers });
      try {
        const foreign: Record<string, string>[] = [
          { "sec-fetch-site": "cross-site" },
          { "sec-fetch-site": "same-site" },
          { origin: "https://evil.example" },
          { origin: "http://127.0.0.1:1" },
          { origin: "null" },
          { origin: "https://evil.example", "sec-fetch-site": "cross-site", authorization: `Bearer ${TOKEN}` },
          { origin: "https://evil.example", authorization: "Bearer wrong" },
        ];
        for (const headers of foreign) {
          const r = await get(headers);
          assert.equal(r.status, 401, JSON.stringify(headers));
          assert.match(((await r.json()) as Json).error?.message ?? "", /refuses requests from other sites' pages/);
        }
        assert.equal(limiter.size, 0, "nothing was counted");
        // Controls: the dashboard's own fetch, an address typed by the operator, curl.
        assert.equal((await get({ authorization: `Bearer ${TOKEN}`, "sec-fetch-site": "same-origin", origin: `http://${own}` })).status, 200);
        assert.equal((await get({ authorization: `Bearer ${TOKEN}`, "sec-fetch-site": "none" })).status, 200);
        assert.equal((await get({ authorization: `Bearer ${TOKEN}` })).status, 200);
        // The dashboard's files stay public: a link from another site still opens it.
        assert.equal((await fetch(`${url}/`, { headers: { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" } })).status, 200);
      } finally {
        await other.close();
      }
    });

    it("the limiter's memory is bounded: past maxAddresses the oldest is forgotten", () => {
      const limiter = new FailureLimiter({ maxAddresses: 3, maxFailures: 1 });
      for (const a of ["a", "b", "c", "d"]) limiter.fail(a);
      assert.equal(limiter.size, 3);
      assert.equal(limiter.blockedFor("a"), 0);
      assert.ok(limiter.blockedFor("d") > 0);
    });
  });
});
