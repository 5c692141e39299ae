// A host with approvals "required", as an operator runs it: nothing unapproved loads, an update
// that asks for more waits while the approved version keeps answering, a shrinking update is
// applied (and re-pinned) without asking, and the plugin cannot approve itself.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createHost, type Host, type HostEvent } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { approveGrants, denyGrants, grantsDiff, listGrants } from "../../core/consent/grant-decisions.ts";
import { readApprovals } from "../../core/consent/approvals-file.ts";
import { verifyAuditText } from "../../core/audit/verify-audit.ts";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";
import { ManualClock } from "../helpers/manual-clock.ts";

const CODE = (version: string) => `
export function hello() { return "v${version}"; }
export async function readNote() { return Warden.fs.readTextFile("note.txt"); }
export function home() { return Warden.env.get("WARDEN_TEST_HOME"); }
export async function approveMyself(text) { await Warden.fs.writeTextFile("../warden-approvals.json", text); return "wrote it"; }
export async function writeBeside() { await Warden.fs.writeTextFile("../notes.txt", "mine"); return "wrote notes"; }
`;

const rejectsWith = (code: string, message: RegExp) => (e: Error & { code?: string }) => {
  assert.equal(e.code, code, e.message);
  assert.match(e.message, message);
  return true;
};

describe("approvals required", () => {
  let s: Scratch;
  let host: Host;
  const events: HostEvent[] = [];
  const write = (version: string, permissions: object) => {
    s.plugin("bot", manifest("test.bot", { version, permissions }), { "index.js": CODE(version), "note.txt": "a note" });
  };

  before(async () => {
    s = scratch();
    process.env["WARDEN_TEST_HOME"] = "/home/test";
    write("1.0.0", { read: ["note.txt"], env: ["WARDEN_TEST_HOME"] });
    host = await createHost({ pluginsDir: s.root, approvals: "required", logger: createDefaultLogger("silent"), healthIntervalMs: 0 });
    host.on("event", (e) => events.push(e));
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  it("an unapproved plugin does not load: pending, with the commands that resolve it", async () => {
    const [st] = host.status();
    assert.equal(st?.state, "pending");
    assert.match(st?.reason ?? "", /test\.bot 1\.0\.0 is not approved yet; see what it asks for: warden grants diff test\.bot --plugins-dir .*; then warden grants approve test\.bot/);
    assert.equal(st?.approval?.state, "pending");
    await assert.rejects(host.invoke("test.bot", "hello"), rejectsWith("PLUGIN_ERROR", /plugin test\.bot is pending: test\.bot 1\.0\.0 is not approved yet|plugin test\.bot is pending/));
    assert.ok(events.some((e) => e.type === "pending" && e.plugin === "test.bot"));
    const listed = await listGrants(s.root);
    assert.equal(listed.plugins[0]?.state, "pending");
    assert.deepEqual(listed.plugins[0]?.growth, ['permissions.read[0] "note.txt" is new', 'permissions.env[0] "WARDEN_TEST_HOME" is new']);
  });

  it("approved, it loads with exactly what it asked for, pinned to its manifest's hash", async () => {
    await host.approve("test.bot");
    const [st] = host.status();
    assert.equal(st?.state, "active", st?.reason ?? "");
    assert.equal(await host.invoke("test.bot", "hello"), "v1.0.0");
    assert.equal(await host.invoke("test.bot", "readNote"), "a note");
    assert.equal(await host.invoke("test.bot", "home"), "/home/test");
    const sha = (await listGrants(s.root)).plugins[0]?.manifestSha256;
    assert.equal(st?.approval?.state, "approved");
    assert.equal(st?.approval?.manifestSha256, sha);
    assert.equal(st?.approval?.version, "1.0.0");
  });

  it("cannot approve itself: warden-* files of the plugins directory are never a plugin's to write (control: another file there is)", async () => {
    host.status();
    await host.unload("test.bot");
    write("1.0.0", { read: ["note.txt"], env: ["WARDEN_TEST_HOME"], write: [s.root] });
    await host.approve("test.bot");
    // An operator's unload is final for loadAll: the operator starts it again.
    await host.reload("test.bot");
    assert.equal(await host.invoke("test.bot", "writeBeside"), "wrote notes");
    const before = readFileSync(join(s.root, "warden-approvals.json"), "utf8");
    const forged = JSON.stringify({ approvalsVersion: 1, plugins: {} });
    await assert.rejects(host.invoke("test.bot", "approveMyself", forged), rejectsWith("PERMISSION_DENIED", /warden-approvals\.json/));
    assert.equal(readFileSync(join(s.root, "warden-approvals.json"), "utf8"), before);
    // Back to the plugin as the rest of the suite expects it.
    await host.unload("test.bot");
    write("1.0.0", { read: ["note.txt"], env: ["WARDEN_TEST_HOME"] });
    await host.approve("test.bot");
    await host.reload("test.bot");
    assert.equal(host.status()[0]?.state, "active");
  });

  it("an update that adds a net host stays pending while the approved version keeps answering; approved, it runs", async () => {
    write("1.1.0", { read: ["note.txt"], env: ["WARDEN_TEST_HOME"], net: ["api.example.com"] });
    await assert.rejects(
      host.reload("test.bot"),
      rejectsWith("APPROVAL_REQUIRED", /test\.bot 1\.1\.0 needs approval: permissions grew since the approval of 1\.0\.0: permissions\.net\[0\] "api\.example\.com" is new/),
    );
    const [st] = host.status();
    assert.equal(st?.state, "active");
    assert.equal(st?.version, "1.0.0");
    assert.equal(st?.pendingUpdate?.version, "1.1.0");
    assert.equal(await host.invoke("test.bot", "hello"), "v1.0.0");
    const d = await grantsDiff(s.root, "test.bot");
    assert.deepEqual(d.grew, ['permissions.net[0] "api.example.com" is new']);
    assert.deepEqual(d.shrank, []);
    await host.approve("test.bot");
    const [now] = host.status();
    assert.equal(now?.version, "1.1.0", now?.reason ?? "");
    assert.equal(now?.pendingUpdate, null);
    assert.equal(await host.invoke("test.bot", "hello"), "v1.1.0");
  });

  it("an update that asks for less is applied without asking, and its new hash recorded", async () => {
    write("1.2.0", { read: ["note.txt"] });
    await host.reload("test.bot");
    assert.equal(await host.invoke("test.bot", "hello"), "v1.2.0");
    const a = (await readApprovals(s.root)).plugins["test.bot"];
    const listed = (await listGrants(s.root)).plugins[0];
    assert.equal(a?.version, "1.2.0");
    assert.equal(a?.manifestSha256, listed?.manifestSha256);
    assert.deepEqual(a?.permissions, { read: ["note.txt"] });
    // Growing back to what 1.1.0 had needs a new approval: the approval narrowed with the update.
    write("1.3.0", { read: ["note.txt"], env: ["WARDEN_TEST_HOME"] });
    await assert.rejects(host.reload("test.bot"), rejectsWith("APPROVAL_REQUIRED", /permissions\.env\[0\] "WARDEN_TEST_HOME" is new/));
    const log = readFileSync(join(s.root, "warden-consent.jsonl"), "utf8");
    assert.equal(verifyAuditText(log).ok, true);
    assert.deepEqual(
      log
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { action: string }).action),
      ["approved", "approved", "approved", "approved", "re-pinned"],
    );
  });

  it("--only: kinds left out of the approval are not granted", async () => {
    await host.approve("test.bot", { only: ["env"] });
    const [st] = host.status();
    assert.equal(st?.version, "1.3.0", st?.reason ?? "");
    assert.equal(await host.invoke("test.bot", "home"), "/home/test");
    await assert.rejects(host.invoke("test.bot", "readNote"), rejectsWith("PERMISSION_DENIED", /note\.txt/));
  });

  it("a denied plugin loses its grants at once and does not load again; revoke stops every grant, the plugin stays loaded", async () => {
    await host.approve("test.bot");
    assert.equal(await host.invoke("test.bot", "readNote"), "a note");
    await host.revoke("test.bot", "investigating");
    await assert.rejects(host.invoke("test.bot", "readNote"), rejectsWith("PERMISSION_DENIED", /revoked/));
    assert.equal(await host.invoke("test.bot", "hello"), "v1.3.0");
    assert.match(host.status()[0]?.revoked ?? "", /investigating/);
    assert.equal((await readApprovals(s.root)).plugins["test.bot"]?.decision, "revoked");
    await host.approve("test.bot");
    assert.equal(await host.invoke("test.bot", "readNote"), "a note");
    assert.equal(host.status()[0]?.revoked, null);
    await denyGrants({ pluginsDir: s.root, id: "test.bot", reason: "not on this server" });
    await host.refreshApprovals();
    await assert.rejects(host.invoke("test.bot", "home"), rejectsWith("PERMISSION_DENIED", /denied/));
    await host.unload("test.bot");
    await assert.rejects(host.reload("test.bot"), rejectsWith("APPROVAL_REQUIRED", /denied/));
    const [st] = host.status();
    assert.equal(st?.state, "pending");
    assert.equal(st?.approval?.state, "denied");
    assert.match(st?.reason ?? "", /its grants were denied by .* \(not on this server\)/);
  });

  it("bad input changes nothing: an unknown id, a corrupt approvals file", async () => {
    const file = join(s.root, "warden-approvals.json");
    const good = readFileSync(file, "utf8");
    await assert.rejects(approveGrants({ pluginsDir: s.root, id: "test.nobody" }), rejectsWith("BAD_INPUT", /no plugin "test\.nobody" in .*; its plugins: test\.bot/));
    writeFileSync(file, good.replace('"decision": "denied"', '"decision": "maybe"'));
    const corrupt = readFileSync(file, "utf8");
    await assert.rejects(approveGrants({ pluginsDir: s.root, id: "test.bot" }), rejectsWith("APPROVALS_INVALID", /plugins\.test\.bot\.decision/));
    await assert.rejects(host.loadAll(), rejectsWith("APPROVALS_INVALID", /warden-approvals\.json" is not a warden approvals file/));
    assert.equal(readFileSync(file, "utf8"), corrupt);
    writeFileSync(file, good);
  });
});

describe("approvals off", () => {
  it("loads what the manifest asks for (the control for the pending plugin above)", async () => {
    const s = scratch();
    s.plugin("bot", manifest("test.bot", { permissions: { read: ["note.txt"] } }), { "index.js": CODE("1.0.0"), "note.txt": "a note" });
    const host = await createHost({ pluginsDir: s.root, logger: createDefaultLogger("silent"), healthIntervalMs: 0 });
    try {
      await host.loadAll();
      assert.equal(await host.invoke("test.bot", "readNote"), "a note");
      assert.equal(host.status()[0]?.approval, null);
      await assert.rejects(host.approve("test.bot"), rejectsWith("BAD_INPUT", /approvals "off"/));
      await host.revoke("test.bot");
      await assert.rejects(host.invoke("test.bot", "readNote"), rejectsWith("PERMISSION_DENIED", /revoked/));
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("status() usage evidence", () => {
  it("with an audit log given, each grant rule's uses, the rules never used and what would have sufficed; without one, none", async () => {
    const s = scratch();
    s.plugin("bot", manifest("test.bot", { permissions: { read: ["note.txt"], env: ["WARDEN_TEST_HOME"] } }), { "index.js": CODE("1.0.0"), "note.txt": "a note" });
    const host = await createHost({ pluginsDir: s.root, auditLog: memoryAuditLog(), logger: createDefaultLogger("silent"), healthIntervalMs: 0 });
    const bare = await createHost({ pluginsDir: s.root, logger: createDefaultLogger("silent"), healthIntervalMs: 0 });
    try {
      await host.loadAll();
      await bare.loadAll();
      assert.equal(await host.invoke("test.bot", "readNote"), "a note");
      assert.equal(await host.invoke("test.bot", "readNote"), "a note");
      const usage = host.status()[0]?.grantUsage;
      assert.equal(usage?.rules.find((r) => r.source === "permissions.read[0]")?.uses, 2);
      assert.equal(usage?.rules.find((r) => r.source === "permissions.env[0]")?.uses, 0);
      assert.deepEqual(usage?.neverUsed, ["permissions.env[0]"]);
      assert.deepEqual(usage?.sufficient, { read: ["note.txt"] });
      assert.equal(bare.status()[0]?.grantUsage, null);
    } finally {
      await host.close();
      await bare.close();
      s.cleanup();
    }
  });
});

describe("revoke and channels", () => {
  it("a revoked plugin's handlers receive nothing more; approved again, it subscribes again and answers", async () => {
    const s = scratch();
    s.plugin("echo", manifest("test.echo", { permissions: { channels: { subscribe: ["chat.in"], publish: ["chat.out"] } } }), {
      "index.js":
        'const got = [];\nexport function onLoad() { Warden.channels.subscribe("chat.in", (m) => { got.push(m.data); return Warden.channels.publish("chat.out", m.data); }); }\nexport function received() { return got; }\n',
    });
    const host = await createHost({ pluginsDir: s.root, approvals: "required", logger: createDefaultLogger("silent"), healthIntervalMs: 0 });
    const replies: unknown[] = [];
    host.bus.subscribe("chat.out", (m) => void replies.push(m.data));
    try {
      await host.loadAll();
      await host.approve("test.echo");
      host.bus.publish("chat.in", 1);
      await until("the first reply", () => replies.length === 1);
      assert.deepEqual(replies, [1]);
      assert.equal(host.bus.subscriptionsOf("test.echo"), 1, "control: subscribed while approved");
      await host.revoke("test.echo", "spam");
      // Not queued for it at all (publishing is denied anyway, so replies alone would prove nothing).
      assert.equal(host.bus.subscriptionsOf("test.echo"), 0);
      assert.equal(host.bus.publish("chat.in", 2), 0, "message 2 is queued for no subscription");
      assert.deepEqual(await host.invoke("test.echo", "received"), [1]);
      assert.deepEqual(replies, [1]);
      await host.approve("test.echo");
      host.bus.publish("chat.in", 3);
      await until("the reply after the approval", () => replies.length === 2);
      assert.deepEqual(replies, [1, 3]);
      assert.equal(host.status()[0]?.revoked, null);
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("an approval with an expiry, on a host", () => {
  it("past the expiry every capability call is denied (approval expired) and status says expired; malformed terms are refused", async () => {
    const s = scratch();
    s.plugin("bot", manifest("test.bot", { permissions: { read: ["note.txt"] } }), { "index.js": CODE("1.0.0"), "note.txt": "a note" });
    const clock = new ManualClock();
    const host = await createHost({ pluginsDir: s.root, approvals: "required", logger: createDefaultLogger("silent"), healthIntervalMs: 0, clock });
    try {
      await host.loadAll();
      await assert.rejects(host.approve("test.bot", { expires: "soon" }), rejectsWith("BAD_INPUT", /expires "soon" is not a date/));
      await assert.rejects(host.approve("test.bot", { quotas: { execPerMinute: 0 } }), rejectsWith("BAD_INPUT", /quotas\.execPerMinute must be a positive whole number/));
      const expires = new Date(clock.now() + 1500).toISOString();
      await host.approve("test.bot", { expires });
      assert.equal(await host.invoke("test.bot", "readNote"), "a note");
      assert.equal(host.status()[0]?.approval?.state, "approved");
      assert.equal(host.status()[0]?.approval?.expires, expires);
      clock.advance(1499);
      assert.equal(await host.invoke("test.bot", "readNote"), "a note", "1 ms before the expiry it still reads");
      assert.equal(host.status()[0]?.approval?.state, "approved");
      clock.advance(1);
      await assert.rejects(host.invoke("test.bot", "readNote"), rejectsWith("PERMISSION_DENIED", /approval expired/));
      assert.equal(host.status()[0]?.approval?.state, "expired");
      assert.equal(await host.invoke("test.bot", "hello"), "v1.0.0");
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("a watching host with approvals required", () => {
  it("finds a plugin directory added while it runs, as pending (with approvals off it would wait for loadAll)", async () => {
    const s = scratch();
    s.plugin("bot", manifest("test.bot"), { "index.js": CODE("1.0.0") });
    const host = await createHost({ pluginsDir: s.root, approvals: "required", watch: true, logger: createDefaultLogger("silent"), healthIntervalMs: 0 });
    try {
      await host.loadAll();
      s.plugin("late", manifest("test.late", { permissions: { read: ["note.txt"] } }), { "index.js": CODE("1.0.0"), "note.txt": "late" });
      // Found (state "loading" while it is judged), then pending.
      const late = await until("the new plugin to be found and judged", () => host.status().find((p) => p.id === "test.late" && p.state !== "loading"));
      assert.equal(late.state, "pending", late.reason ?? "");
      await host.approve("test.late");
      assert.equal(await host.invoke("test.late", "readNote"), "late");
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});
