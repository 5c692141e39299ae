// The consent gate on its own, with an injected clock: expiry, the sliding and rolling windows of
// the quotas, the kill switch and its lifting, the fast path, and the bridge's use of it (with
// injected ports, so every figure is exact).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONSENT_KINDS, ConsentGate, createCapabilities, OPERATIONS, type AuditEvent, type Capabilities, type ConsentTerms, type HttpPort } from "../../capabilities/index.ts";
import { RollingCount } from "../../capabilities/rolling-count.ts";
import { isWardenError } from "../../errors/index.ts";
import { nodePorts, TEST_LIMITS } from "../helpers/ports.ts";
import { scratch } from "../helpers/plugin-dir.ts";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const OPEN: ConsentTerms = { expiresAt: null, quotas: {} };

/** A gate on a clock the test moves. */
function gateAt(terms: ConsentTerms = OPEN): { gate: ConsentGate; audit: AuditEvent[]; sink: { record(e: AuditEvent): void }; tick: (ms: number) => void } {
  let now = T0;
  const audit: AuditEvent[] = [];
  const gate = new ConsentGate({ pluginId: "t.gated", terms, now: () => now });
  return { gate, audit, sink: { record: (e) => audit.push(e) }, tick: (ms) => (now += ms) };
}

/** The PERMISSION_DENIED message `fn` throws (fails if it does not). */
function deniedMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isWardenError(e), String(e));
    assert.equal(e.code, "PERMISSION_DENIED");
    return e.message;
  }
  assert.fail("expected PERMISSION_DENIED");
}

describe("RollingCount", () => {
  it("forgets an amount once its bucket leaves the window, and says when", () => {
    const c = new RollingCount(60_000, 1000);
    c.add(T0, 2);
    c.add(T0 + 30_000, 1);
    assert.equal(c.total(T0 + 59_000), 3);
    assert.equal(c.msUntilBelow(T0 + 59_000, 3), 1000);
    assert.equal(c.total(T0 + 60_000), 1);
    assert.equal(c.msUntilBelow(T0 + 60_000, 3), 0);
    assert.equal(c.total(T0 + 90_000), 0);
    assert.equal(c.msUntilBelow(T0, 0), Number.POSITIVE_INFINITY);
  });
});

describe("ConsentGate", () => {
  it("gates every capability use, and never a query or an unsubscribe", () => {
    assert.deepEqual(Object.keys(CONSENT_KINDS).sort(), Object.keys(OPERATIONS).sort());
    const { gate, sink } = gateAt();
    for (const [op, kind] of Object.entries(CONSENT_KINDS)) {
      const signal = gate.admit(op, [], sink);
      assert.equal(signal === null, kind === null, op);
    }
    assert.deepEqual(
      Object.entries(CONSENT_KINDS)
        .filter(([, k]) => k === null)
        .map(([op]) => op)
        .sort(),
      ["channels.unsubscribe", "permissions.query"],
    );
  });

  it("expiry: allowed before, denied from the date on with the date and how to renew, audited", () => {
    const { gate, audit, sink, tick } = gateAt({ expiresAt: T0 + 1000, quotas: {} });
    assert.ok(gate.admit("env.get", ["HOME"], sink) instanceof AbortSignal);
    tick(1000);
    const message = deniedMessage(() => gate.admit("env.get", ["HOME"], sink));
    assert.match(message, /approval expired at 2030-01-01T12:00:01\.000Z/);
    assert.match(message, /warden grants approve t\.gated/);
    assert.deepEqual(audit, [{ type: "deny", op: "Warden.env.get()", permission: "env", value: "HOME", decision: "denied", reason: "approval expired at 2030-01-01T12:00:01.000Z" }]);
    // Calling again changes nothing; a new approval does.
    assert.throws(() => gate.admit("env.get", ["HOME"], sink), /approval expired/);
    gate.setTerms({ expiresAt: T0 + 60_000, quotas: {} });
    assert.ok(gate.admit("env.get", ["HOME"], sink));
  });

  it("net requests per minute: a sliding 60 s window counted at admission", () => {
    const { gate, audit, sink, tick } = gateAt({ expiresAt: null, quotas: { netRequestsPerMinute: 3 } });
    gate.admit("fetch", ["http://a/"], sink);
    tick(20_000);
    gate.admit("fetch", ["http://a/"], sink);
    gate.admit("fetch", ["http://a/"], sink);
    assert.equal(gate.usage().netRequestsPerMinute, 3);
    const message = deniedMessage(() => gate.admit("fetch", ["http://a/"], sink));
    assert.match(message, /quota: 3 net requests per minute \(the operator's limit\) used; the next is allowed in 40 s/);
    assert.equal(audit.at(-1)?.reason, "quota: 3 net requests per minute (the operator's limit) used");
    // Denials are not counted: asking again and again does not push the window further.
    for (let i = 0; i < 20; i++) assert.throws(() => gate.admit("fetch", ["http://a/"], sink));
    assert.equal(gate.usage().netRequestsPerMinute, 3);
    tick(40_000);
    assert.ok(gate.admit("fetch", ["http://a/"], sink), "the first request left the window");
    assert.throws(() => gate.admit("fetch", ["http://a/"], sink), /quota: 3 net requests/);
    // Other kinds are not touched by a net quota.
    assert.ok(gate.admit("exec", ["echo"], sink));
  });

  it("exec per minute", () => {
    const { gate, sink, tick } = gateAt({ expiresAt: null, quotas: { execPerMinute: 2 } });
    gate.admit("exec", ["echo"], sink);
    gate.admit("exec", ["echo"], sink);
    assert.match(
      deniedMessage(() => gate.admit("exec", ["echo"], sink)),
      /quota: 2 exec calls per minute \(the operator's limit\) used; the next is allowed in 60 s/,
    );
    tick(60_000);
    assert.ok(gate.admit("exec", ["echo"], sink));
  });

  it("byte budgets: the call that passes the budget completes, the next is refused for up to a day", () => {
    const { gate, sink, tick } = gateAt({ expiresAt: null, quotas: { writeBytesPerDay: 10, netBytesPerDay: 100 } });
    gate.admit("fs.writeTextFile", ["a"], sink);
    gate.account("write", 6);
    gate.admit("fs.writeTextFile", ["a"], sink);
    gate.account("write", 6);
    assert.equal(gate.usage().writeBytesPerDay, 12);
    assert.match(
      deniedMessage(() => gate.admit("fs.writeTextFile", ["a"], sink)),
      /quota: 10 bytes written per day \(the operator's limit\) used; the next is allowed in 24 h/,
    );
    // A budget of bytes refuses only what spends bytes.
    assert.ok(gate.admit("fs.mkdir", ["d"], sink));
    gate.account("net", 100);
    assert.throws(() => gate.admit("fetch", ["http://a/"], sink), /quota: 100 net bytes per day/);
    tick(23 * 3600_000);
    assert.throws(() => gate.admit("fetch", ["http://a/"], sink), /the next is allowed in 60 min/);
    tick(3600_000);
    assert.ok(gate.admit("fetch", ["http://a/"], sink));
    assert.ok(gate.admit("fs.writeTextFile", ["a"], sink));
  });

  it("a quota of 0 allows nothing, and says who can change that", () => {
    const { gate, sink } = gateAt({ expiresAt: null, quotas: { execPerMinute: 0 } });
    assert.match(
      deniedMessage(() => gate.admit("exec", ["echo"], sink)),
      /quota: 0 exec calls per minute.*until the operator raises it \(warden grants approve t\.gated\)/,
    );
  });

  it("revoke aborts what was admitted and denies the rest, queries excepted; setTerms lifts it", () => {
    const { gate, audit, sink } = gateAt();
    const inFlight = gate.admit("fetch", ["http://a/"], sink);
    assert.ok(inFlight !== null && !inFlight.aborted);
    gate.revoke("the vendor was breached");
    assert.equal(gate.revokedReason, "the vendor was breached");
    assert.ok(inFlight.aborted);
    const late = gate.revokedInFlight("fetch", ["http://a/"], inFlight, sink);
    assert.match(late.message, /approval revoked: "the vendor was breached" while the call was in flight/);
    assert.match(
      deniedMessage(() => gate.admit("channels.publish", ["x"], sink)),
      /approval revoked: "the vendor was breached"; .*warden grants approve t\.gated/,
    );
    assert.equal(gate.admit("permissions.query", [{ name: "env" }], sink), null);
    assert.equal(gate.admit("channels.unsubscribe", [1], sink), null);
    assert.deepEqual(
      audit.map((e) => [e.type, e.permission]),
      [
        ["deny", "net"],
        ["deny", "channels"],
      ],
    );
    gate.setTerms(OPEN);
    assert.equal(gate.revokedReason, null);
    const fresh = gate.admit("fetch", ["http://a/"], sink);
    assert.ok(fresh !== null && !fresh.aborted, "a new approval brings a signal that is not aborted");
    assert.ok(inFlight.aborted, "what was revoked stays revoked");
  });

  it("refusal(): why nothing is allowed now (revoked, expired), null while approved and not expired; quotas are not a refusal", () => {
    const { gate, tick } = gateAt({ expiresAt: T0 + 1000, quotas: { execPerMinute: 0 } });
    assert.equal(gate.refusal(), null);
    tick(999);
    assert.equal(gate.refusal(), null);
    tick(1);
    assert.match(gate.refusal() ?? "", /^approval expired at 2030-01-01T12:00:01\.000Z$/);
    gate.setTerms(OPEN);
    assert.equal(gate.refusal(), null);
    gate.revoke("spam");
    assert.equal(gate.refusal(), 'approval revoked: "spam"');
    gate.setTerms(OPEN);
    assert.equal(gate.refusal(), null);
  });

  it("refuses terms that would silently mean something else", () => {
    assert.throws(() => new ConsentGate({ pluginId: "t", terms: { expiresAt: Number.NaN, quotas: {} } }), { code: "BAD_INPUT" });
    assert.throws(() => new ConsentGate({ pluginId: "t", terms: { expiresAt: null, quotas: { execPerMinute: -1 } } }), { code: "BAD_INPUT" });
    const typo = { expiresAt: null, quotas: { execsPerMinute: 1 } } as unknown as ConsentTerms;
    assert.throws(() => new ConsentGate({ pluginId: "t", terms: typo }), { code: "BAD_INPUT" });
  });
});

describe("createCapabilities with a consent gate", () => {
  /** A bridge over real ports (env from a fixed table) with a gate on a test clock. */
  async function bridge(terms: ConsentTerms, http?: HttpPort): Promise<{ caps: Capabilities; gate: ConsentGate; audit: AuditEvent[]; tick: (ms: number) => void; cleanup: () => void }> {
    const s = scratch();
    const dir = s.plugin("p", {}, { "data/.keep": "" });
    let now = T0;
    const gate = new ConsentGate({ pluginId: "t.gated", terms, now: () => now });
    const audit: AuditEvent[] = [];
    const caps = await createCapabilities({
      pluginId: "t.gated",
      pluginDir: dir,
      grants: { env: ["GATED_*"], write: ["data/"], net: ["example.test"] },
      ports: nodePorts({ env: { get: (n) => (n === "GATED_X" ? "secret" : undefined) }, ...(http ? { http, dns: { lookup: async () => [{ address: "93.184.216.34", family: 4 }] } } : {}) }),
      audit: { record: (e) => audit.push(e) },
      limits: TEST_LIMITS,
      consent: gate,
    });
    return { caps, gate, audit, tick: (ms) => (now += ms), cleanup: () => s.cleanup() };
  }

  it("the fast path (callSync) is gated like call: env.get after expiry and after revoke", async () => {
    const b = await bridge({ expiresAt: T0 + 1000, quotas: {} });
    try {
      assert.deepEqual(b.caps.callSync("env.get", ["GATED_X"]), { value: "secret" });
      b.tick(1000);
      assert.throws(() => b.caps.callSync("env.get", ["GATED_X"]), /approval expired/);
      await assert.rejects(b.caps.call("env.get", ["GATED_X"]), /approval expired/);
      b.gate.setTerms(OPEN);
      assert.deepEqual(b.caps.callSync("env.get", ["GATED_X"]), { value: "secret" });
      b.gate.revoke("stop");
      assert.throws(() => b.caps.callSync("env.get", ["GATED_X"]), /approval revoked: "stop"/);
      // A query is still answered (it changes nothing and reveals only the grants).
      assert.deepEqual(b.caps.callSync("permissions.query", [{ name: "env", variable: "GATED_X" }]), { value: { state: "granted", rule: "GATED_*", source: "permissions.env[0]" } });
    } finally {
      b.cleanup();
    }
  });

  it("written bytes are the UTF-8 bytes of the text; request and response bodies are net bytes", async () => {
    const http: HttpPort = { request: async () => ({ status: 200, statusText: "OK", headers: [], body: new Uint8Array(40) }) };
    const b = await bridge(OPEN, http);
    try {
      await b.caps.call("fs.writeTextFile", ["data/a.txt", "héllo"]);
      assert.equal(b.gate.usage().writeBytesPerDay, 6);
      await b.caps.call("fetch", ["http://example.test/", { method: "POST", body: { text: "0123456789" } }]);
      assert.deepEqual(b.gate.usage(), { netRequestsPerMinute: 1, netBytesPerDay: 50, execPerMinute: 0, writeBytesPerDay: 6 });
    } finally {
      b.cleanup();
    }
  });

  it("revoke rejects a call in flight whose handler ignores signals (here a fetch whose port never answers) at once", async () => {
    let markStarted = (): void => undefined;
    const started = new Promise<void>((r) => (markStarted = r));
    const http: HttpPort = {
      request: () =>
        new Promise(() => {
          markStarted();
        }),
    };
    const b = await bridge(OPEN, http);
    try {
      const call = b.caps.call("fetch", ["http://example.test/"]);
      await started;
      b.gate.revoke("kill switch");
      await assert.rejects(call, (e: unknown) => isWardenError(e) && e.code === "PERMISSION_DENIED" && /approval revoked: "kill switch" while the call was in flight/.test(e.message));
      assert.equal(b.audit.filter((e) => e.type === "deny").length, 1, "one denial record per call");
    } finally {
      b.cleanup();
    }
  });
});
