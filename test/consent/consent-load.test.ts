// The consent gate through loadPlugin, as an operator and an attacker see it: a real plugin in its
// isolate (in an engine process and in the host's process), real grants, a local HTTP server, real
// commands. Every denial is checked with its positive control (the same call allowed just before),
// its message (the figure, how to fix it) and its audit record.
import assert from "node:assert/strict";
import { createServer, type ServerResponse, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { ConsentGate, type ConsentTerms } from "../../capabilities/index.ts";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import type { Isolation } from "../../core/runtime/plugin-slot.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { commandLine, descendants } from "../helpers/process-tree.ts";
import { until } from "../helpers/until.ts";

const logger = createDefaultLogger("silent");
const OPEN: ConsentTerms = { expiresAt: null, quotas: {} };
const BODY = "b".repeat(60);

// Every entry answers what happened, so the test sees the error exactly as the plugin did.
const source = `
const r = async (fn) => {
  const t0 = Date.now();
  try { return { ok: true, value: await fn() }; }
  catch (e) { return { ok: false, name: e.name, code: e.code, message: e.message, ms: Date.now() - t0 }; }
};
export function ping() { return "pong"; }
export function env() { return r(() => Warden.env.get("CONSENT_X")); }
export function get(url) { return r(async () => (await fetch(url)).text()); }
export function post([url, body]) { return r(async () => (await fetch(url, { method: "POST", body })).text()); }
export function run([cmd, args]) { return r(async () => (await Warden.exec(cmd, args)).stdout); }
export function write([path, text]) { return r(() => Warden.fs.writeTextFile(path, text)); }
export function mkdir(path) { return r(() => Warden.fs.mkdir(path, { recursive: true })); }
export function read(path) { return r(() => Warden.fs.readTextFile(path)); }
export function publish() { return r(() => Warden.channels.publish("consent.out", { n: 1 })); }
export function callOther(input) { return r(() => Warden.plugins.call("consent.other", "echo", input)); }
export function query() { return r(() => Warden.permissions.query({ name: "env", variable: "CONSENT_X" })); }
export function spin() { for (;;) {} }
`;

type Outcome = { ok: true; value: unknown } | { ok: false; name: string; code: string; message: string; ms: number };

let s: Scratch;
let server: Server;
let port: number;
let gatedDir: string;
let otherDir: string;
let other: PluginHandle;
// Requests to /slow, answered only when the test ends (or never, if revoked first).
const slow: ServerResponse[] = [];
let slowArrived: () => void = () => undefined;

before(async () => {
  process.env["CONSENT_X"] = "the secret";
  server = createServer((req, res) => {
    if (req.url === "/slow") {
      slow.push(res);
      slowArrived();
      return;
    }
    req.resume();
    req.on("end", () => res.end(BODY));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  s = scratch();
  gatedDir = s.plugin(
    "gated",
    manifest("consent.gated", {
      permissions: {
        read: ["data/"],
        write: ["data/"],
        net: [`127.0.0.1:${port}`],
        exec: ["echo", "sleep"],
        env: ["CONSENT_*"],
        channels: { publish: ["consent.out"] },
        plugins: ["consent.other"],
      },
      limits: { timeoutMs: 10_000, cpuMs: 300 },
    }),
    { "index.js": source, "data/.keep": "" },
  );
  otherDir = s.plugin("other", manifest("consent.other"), { "index.js": `export function echo(x) { return { echoed: x }; }` });
  other = await loadPlugin(otherDir, { audit: memoryAuditLog(), logger, isolation: "in-process" });
});

after(async () => {
  await other?.close();
  for (const res of slow) res.destroy();
  server.closeAllConnections();
  server.close();
  s.cleanup();
});

for (const isolation of ["engine", "in-process"] as const satisfies readonly Isolation[]) {
  describe(`consent through loadPlugin (${isolation})`, () => {
    let handle: PluginHandle | null = null;
    afterEach(async () => {
      await handle?.close();
      handle = null;
    });

    /** Load the gated plugin with a gate of `terms` on a clock the test moves. */
    async function load(terms: ConsentTerms): Promise<{ p: PluginHandle; gate: ConsentGate; audit: ReturnType<typeof memoryAuditLog>; tick: (ms: number) => void }> {
      let now = Date.now();
      const gate = new ConsentGate({ pluginId: "consent.gated", terms, now: () => now });
      const audit = memoryAuditLog();
      const p = await loadPlugin(gatedDir, {
        audit,
        logger,
        isolation,
        consent: gate,
        onPluginCall: (caller, target, entry, input, chain) => other.invoke(entry, input, { caller, chain: [...chain, target] }),
      });
      handle = p;
      return { p, gate, audit, tick: (ms) => (now += ms) };
    }

    async function call(p: PluginHandle, entry: string, ...input: unknown[]): Promise<Outcome> {
      return (await p.invoke(entry, input.length === 0 ? undefined : input.length === 1 ? input[0] : input)) as Outcome;
    }

    /** Assert a PERMISSION_DENIED outcome whose message matches `pattern`. */
    function denied(o: Outcome, pattern: RegExp): void {
      assert.equal(o.ok, false, JSON.stringify(o));
      if (o.ok) return;
      assert.equal(o.code, "PERMISSION_DENIED", o.message);
      assert.equal(o.name, "PermissionDenied");
      assert.match(o.message, pattern);
    }

    /** Assert an outcome that succeeded. */
    function allowed(o: Outcome): void {
      assert.equal(o.ok, true, JSON.stringify(o));
    }

    /** The audit's gate denials (type deny, with a reason from the gate). */
    function gateDenials(audit: ReturnType<typeof memoryAuditLog>): Record<string, unknown>[] {
      return audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r["type"] === "deny" && /^(approval|quota)/.test(String(r["reason"])));
    }

    it("the handle exposes its gate; a gate of another plugin is refused", async () => {
      const { p, gate } = await load(OPEN);
      assert.equal(p.consent, gate);
      await assert.rejects(loadPlugin(gatedDir, { audit: memoryAuditLog(), logger, isolation, consent: new ConsentGate({ pluginId: "someone.else", terms: OPEN }) }), {
        code: "BAD_INPUT",
        message: /someone\.else/,
      });
    });

    it("expiry: allowed before, 'approval expired' with the date and the fix after, audited", async () => {
      const expiresAt = Date.now() + 60_000;
      const { p, audit, tick } = await load({ expiresAt, quotas: {} });
      assert.deepEqual(await call(p, "env"), { ok: true, value: "the secret" });
      assert.deepEqual(await call(p, "get", `http://127.0.0.1:${port}/`), { ok: true, value: BODY });
      tick(60_000);
      const when = new Date(expiresAt).toISOString().replace(/\./g, "\\.");
      denied(await call(p, "env"), new RegExp(`approval expired at ${when}.*warden grants approve consent\\.gated`));
      denied(await call(p, "get", `http://127.0.0.1:${port}/`), /approval expired/);
      denied(await call(p, "read", "data/.keep"), /approval expired/);
      const records = gateDenials(audit);
      assert.deepEqual(
        records.map((r) => [r["plugin"], r["permission"], r["op"]]),
        [
          ["consent.gated", "env", "Warden.env.get()"],
          ["consent.gated", "net", "fetch()"],
          ["consent.gated", "read", "Warden.fs.readTextFile()"],
        ],
      );
      // Not capabilities: entries still answer, and a query still explains the grants.
      assert.equal(await p.invoke("ping"), "pong");
      assert.equal((await call(p, "query")).ok, true);
    });

    it("net requests per minute: the figure in the message and the audit, below it allowed", async () => {
      const { p, gate, audit, tick } = await load({ expiresAt: null, quotas: { netRequestsPerMinute: 3 } });
      for (let i = 0; i < 3; i++) assert.deepEqual(await call(p, "get", `http://127.0.0.1:${port}/`), { ok: true, value: BODY });
      denied(await call(p, "get", `http://127.0.0.1:${port}/`), /quota: 3 net requests per minute \(the operator's limit\) used; the next is allowed in \d+ s/);
      // Again and again: still denied, and the denials do not count.
      for (let i = 0; i < 5; i++) denied(await call(p, "get", `http://127.0.0.1:${port}/`), /quota: 3 net requests/);
      assert.equal(gate.usage().netRequestsPerMinute, 3);
      assert.equal(gateDenials(audit)[0]?.["reason"], "quota: 3 net requests per minute (the operator's limit) used");
      // Other kinds go on; the window slides.
      assert.deepEqual(await call(p, "env"), { ok: true, value: "the secret" });
      tick(61_000);
      assert.deepEqual(await call(p, "get", `http://127.0.0.1:${port}/`), { ok: true, value: BODY });
    });

    it("net bytes per day: request and response bodies count; the call that passes the budget completes, the next is denied", async () => {
      const { p, gate, audit } = await load({ expiresAt: null, quotas: { netBytesPerDay: 100 } });
      assert.deepEqual(await call(p, "post", `http://127.0.0.1:${port}/`, "0123456789"), { ok: true, value: BODY });
      assert.equal(gate.usage().netBytesPerDay, 70);
      assert.deepEqual(await call(p, "get", `http://127.0.0.1:${port}/`), { ok: true, value: BODY }, "admitted below the budget, completes past it");
      assert.equal(gate.usage().netBytesPerDay, 130);
      denied(await call(p, "get", `http://127.0.0.1:${port}/`), /quota: 100 net bytes per day \(the operator's limit\) used; the next is allowed in \d+ h/);
      assert.equal(gateDenials(audit).length, 1);
    });

    it("exec per minute: the figure, below it allowed", async () => {
      const { p, gate } = await load({ expiresAt: null, quotas: { execPerMinute: 2 } });
      assert.deepEqual(await call(p, "run", "echo", ["one"]), { ok: true, value: "one\n" });
      assert.deepEqual(await call(p, "run", "echo", ["two"]), { ok: true, value: "two\n" });
      denied(await call(p, "run", "echo", ["three"]), /quota: 2 exec calls per minute \(the operator's limit\) used; the next is allowed in \d+ s/);
      assert.equal(gate.usage().execPerMinute, 2);
    });

    it("bytes written per day: UTF-8 bytes of the text; the next write past the budget is denied, mkdir is not", async () => {
      const { p, gate, audit } = await load({ expiresAt: null, quotas: { writeBytesPerDay: 10 } });
      allowed(await call(p, "write", "data/a.txt", "héllo"));
      assert.equal(gate.usage().writeBytesPerDay, 6);
      allowed(await call(p, "write", "data/b.txt", "héllo"));
      denied(await call(p, "write", "data/c.txt", "x"), /quota: 10 bytes written per day \(the operator's limit\) used/);
      assert.equal((await call(p, "read", "data/c.txt")).ok, false, "the denied write did not happen");
      allowed(await call(p, "mkdir", "data/d"));
      assert.deepEqual(
        gateDenials(audit).map((r) => [r["permission"], r["value"]]),
        [["write", "data/c.txt"]],
      );
    });

    it("revoke with a fetch in flight: it rejects 'approval revoked' promptly, later calls are denied, the plugin stays loaded, setTerms re-enables", async () => {
      const { p, gate, audit } = await load(OPEN);
      const arrived = new Promise<void>((r) => (slowArrived = r));
      const pending = call(p, "get", `http://127.0.0.1:${port}/slow`);
      await arrived;
      const t0 = Date.now();
      gate.revoke("the vendor was breached");
      const inFlight = await pending;
      assert.ok(Date.now() - t0 < 2000, `rejected ${Date.now() - t0} ms after the revoke`);
      denied(inFlight, /approval revoked: "the vendor was breached" while the call was in flight/);
      // Later calls, through every path: the fast one (env.get), fetch, a write, another plugin.
      denied(await call(p, "env"), /approval revoked: "the vendor was breached"/);
      denied(await call(p, "get", `http://127.0.0.1:${port}/`), /approval revoked/);
      denied(await call(p, "write", "data/r.txt", "x"), /approval revoked/);
      denied(await call(p, "publish"), /approval revoked/);
      denied(await call(p, "callOther", "hi"), /approval revoked/);
      assert.equal(await p.invoke("ping"), "pong");
      assert.ok(gateDenials(audit).length >= 6);
      gate.setTerms(OPEN);
      assert.deepEqual(await call(p, "env"), { ok: true, value: "the secret" });
      assert.deepEqual(await call(p, "get", `http://127.0.0.1:${port}/`), { ok: true, value: BODY });
      assert.deepEqual(await call(p, "callOther", "hi"), { ok: true, value: { echoed: "hi" } });
    });

    it("revoke with an exec in flight (sleep 5): it rejects 'approval revoked' promptly", async () => {
      const { p, gate } = await load(OPEN);
      const t0 = Date.now();
      const pending = call(p, "run", "sleep", ["5"]);
      // In flight: the command runs (a process of this test's tree, wherever the plugin runs).
      await until("the command to start", () => descendants(process.pid).some((pid) => /(^|\/)sleep 5$/.test(commandLine(pid))));
      gate.revoke("stop everything");
      denied(await pending, /approval revoked: "stop everything" while the call was in flight/);
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
      denied(await call(p, "run", "echo", ["x"]), /approval revoked/);
    });

    it("an attacker cannot go around the gate: plugins.call, the fast path, calling again; a restart keeps the gate", async () => {
      const { p, gate } = await load({ expiresAt: null, quotas: { execPerMinute: 1 } });
      // Positive controls.
      assert.deepEqual(await call(p, "callOther", "hi"), { ok: true, value: { echoed: "hi" } });
      assert.deepEqual(await call(p, "env"), { ok: true, value: "the secret" });
      assert.deepEqual(await call(p, "run", "echo", ["x"]), { ok: true, value: "x\n" });
      gate.revoke("audit pending");
      for (let i = 0; i < 3; i++) {
        denied(await call(p, "callOther", "hi"), /approval revoked/);
        denied(await call(p, "env"), /approval revoked/);
      }
      // The plugin brings its isolate down (a CPU limit); the rebuilt one is under the same gate.
      await assert.rejects(p.invoke("spin"), { code: "CPU_LIMIT", message: /spin\(\) used more than cpuMs/ });
      assert.equal(await p.invoke("ping"), "pong");
      denied(await call(p, "env"), /approval revoked/);
      gate.setTerms({ expiresAt: null, quotas: { execPerMinute: 1 } });
      assert.deepEqual(await call(p, "env"), { ok: true, value: "the secret" });
      denied(await call(p, "run", "echo", ["y"]), /quota: 1 exec calls per minute/);
    });
  });
}
