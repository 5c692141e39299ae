// Usage evidence per grant (issue 14, part 5): a scripted run of a real plugin writes a file audit
// log; the report read back from the file, and the one a host keeps live from the same records,
// must both say exactly how often each rule was used, which were never used, what was denied, and
// the smaller permissions that would have sufficed. Aggregated records (repeats, denial storms,
// records past the byte budget) count in full.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog, openAuditLog } from "../../core/audit/audit-log.ts";
import { GrantUsageTally, grantRules, tallyingAuditWriter, type AuditRecordLike, type PluginUsage } from "../../core/audit/grant-usage.ts";
import { parseSince, readUsageEvidence } from "../../core/cli/usage-evidence.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");

const source = `
export async function readData(n) { for (let i = 0; i < n; i++) await Warden.fs.readTextFile("data/x.txt"); return n; }
export async function fetchLocal({ url, n }) { for (let i = 0; i < n; i++) await (await fetch(url)).text(); return n; }
export async function env() { return Warden.env.get("WARDEN_USAGE_TEST"); }
export async function publish() { return Warden.channels.publish("news.today", { a: 1 }); }
export async function denied(list) {
  const out = [];
  for (const [kind, value] of list) {
    try {
      if (kind === "read") await Warden.fs.readTextFile(value);
      else if (kind === "net") await fetch(value);
      else await Warden.env.get(value);
      out.push("ALLOWED");
    } catch (e) { out.push(e.code); }
  }
  return out;
}
`;

function plugin(u: { plugins: readonly PluginUsage[] }, id: string): PluginUsage {
  const found = u.plugins.find((p) => p.id === id);
  assert.ok(found, `no report for ${id}`);
  return found;
}

/** The figures of a report that do not depend on the clock. */
function figures(p: PluginUsage) {
  return {
    rules: p.rules.map((r) => [r.source, r.rule, r.uses, r.lastUsed === null ? null : "time", r.inManifest]),
    neverUsed: p.neverUsed,
    denied: p.denied.map((d) => [d.permission, d.value, d.count]),
    uses: p.uses,
    denials: p.denials,
    sufficient: p.sufficient,
  };
}

describe("grant usage: a scripted run", () => {
  let s: Scratch;
  let server: Server;
  let port: number;
  let file: string;
  let permissions: Record<string, unknown>;
  const live = new GrantUsageTally();

  before(async () => {
    s = scratch();
    server = createServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
    process.env["WARDEN_USAGE_TEST"] = "yes";
    permissions = {
      read: ["data/", "cache/"],
      net: [`127.0.0.1:${port}`, "example.invalid"],
      env: ["WARDEN_USAGE_TEST"],
      channels: { publish: ["news.*", "alerts"], subscribe: ["news.**"] },
    };
    const dir = s.plugin("usage", manifest("test.usage", { permissions }), { "index.js": source, "data/x.txt": "x", "cache/.keep": "" });
    file = join(s.root, "audit.jsonl");
    // The host's live tally sees what the file gets, through the same writer.
    const audit = tallyingAuditWriter(openAuditLog(file), live);
    const p = await loadPlugin(dir, { audit, logger });
    try {
      assert.equal(await p.invoke("readData", 3), 3);
      assert.equal(await p.invoke("fetchLocal", { url: `http://127.0.0.1:${port}/a`, n: 2 }), 2);
      assert.equal(await p.invoke("env"), "yes");
      assert.deepEqual(await p.invoke("publish"), { delivered: 0 });
      const outcome = await p.invoke("denied", [
        ["read", "/etc/hostname"],
        ["net", "http://10.255.255.1/"],
        ["env", "HOME"],
        ["env", "HOME"],
        ["env", "HOME"],
      ]);
      assert.deepEqual(outcome, Array(5).fill("PERMISSION_DENIED"));
    } finally {
      await p.close();
      audit.close();
    }
  });
  after(async () => {
    delete process.env["WARDEN_USAGE_TEST"];
    await new Promise((r) => server.close(r));
    s.cleanup();
  });

  it("the report from the file: uses per rule, never-used rules, denials per value, the smaller manifest", () => {
    // The repeats of HOME were aggregated into a deny-repeat record when the plugin closed.
    const types = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { type: string }).type);
    assert.ok(types.includes("deny-repeat"), types.join(","));
    const evidence = readUsageEvidence(file, null);
    assert.ok(evidence.ok);
    const p = plugin(evidence.tally.report(new Map([["test.usage", { permissions, version: "1.0.0" }]])), "test.usage");
    assert.equal(p.installed, true);
    assert.equal(p.rulesFrom, "manifest");
    assert.deepEqual(figures(p), {
      rules: [
        ["permissions.read[0]", "data/", 3, "time", true],
        ["permissions.read[1]", "cache/", 0, null, true],
        ["permissions.net[0]", `127.0.0.1:${port}`, 2, "time", true],
        ["permissions.net[1]", "example.invalid", 0, null, true],
        ["permissions.env[0]", "WARDEN_USAGE_TEST", 1, "time", true],
        ["permissions.channels.publish[0]", "news.*", 1, "time", true],
        ["permissions.channels.publish[1]", "alerts", 0, null, true],
        ["permissions.channels.subscribe[0]", "news.**", 0, null, true],
      ],
      neverUsed: ["permissions.read[1]", "permissions.net[1]", "permissions.channels.publish[1]", "permissions.channels.subscribe[0]"],
      denied: [
        ["env", "HOME", 3],
        ["net", "http://10.255.255.1/", 1],
        ["read", "/etc/hostname", 1],
      ],
      uses: 7,
      denials: 5,
      sufficient: { read: ["data/"], net: [`127.0.0.1:${port}`], env: ["WARDEN_USAGE_TEST"], channels: { publish: ["news.*"] } },
    });
    assert.match(p.rules[0]?.lastUsed ?? "", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it("the host's live tally, fed record by record, says the same", () => {
    const evidence = readUsageEvidence(file, null);
    assert.ok(evidence.ok);
    const installed = new Map([["test.usage", { permissions, version: "1.0.0" }]]);
    assert.deepEqual(figures(live.plugin("test.usage", installed.get("test.usage"))), figures(plugin(evidence.tally.report(installed), "test.usage")));
  });

  it("a plugin not in the plugins directory: reported from the log's grant record, flagged not installed", () => {
    const evidence = readUsageEvidence(file, null);
    assert.ok(evidence.ok);
    const p = plugin(evidence.tally.report(new Map()), "test.usage");
    assert.equal(p.installed, false);
    assert.equal(p.rulesFrom, "audit-log");
    assert.equal(p.version, "1.0.0");
    assert.deepEqual(p.neverUsed, ["permissions.read[1]", "permissions.net[1]", "permissions.channels.publish[1]", "permissions.channels.subscribe[0]"]);
    assert.equal(p.uses, 7);
  });

  it("a manifest edited since the log: rules matched by their text, rules gone are reported as not in the manifest", () => {
    const evidence = readUsageEvidence(file, null);
    assert.ok(evidence.ok);
    const edited = { read: ["cache/", "data/"], env: ["OTHER"] };
    const p = evidence.tally.plugin("test.usage", { permissions: edited });
    assert.deepEqual(
      p.rules.map((r) => [r.source, r.rule, r.uses, r.inManifest]),
      [
        ["permissions.read[0]", "cache/", 0, true],
        ["permissions.read[1]", "data/", 3, true],
        ["permissions.env[0]", "OTHER", 0, true],
        ["permissions.net[0]", `127.0.0.1:${port}`, 2, false],
        ["permissions.env[0]", "WARDEN_USAGE_TEST", 1, false],
        ["permissions.channels.publish[0]", "news.*", 1, false],
      ],
    );
    assert.deepEqual(p.sufficient, { read: ["data/"] });
  });
});

describe("grant usage: aggregated records count in full", () => {
  let s: Scratch;
  after(() => s.cleanup());

  it("a real denial storm and a use loop past the audit budget: every use and denial is counted", async () => {
    s = scratch();
    const dir = s.plugin("flood", manifest("test.flood", { permissions: { read: ["data/", "other/"] } }), { "index.js": source, "data/x.txt": "x" });
    const audit = memoryAuditLog();
    // Two distinct denials of a kind written in full, then counted; about five records fit the budget.
    const p = await loadPlugin(dir, { audit, logger, auditLimits: { distinctDenialsPerKind: 2, bytesPerWindow: 3000 } });
    try {
      assert.equal(await p.invoke("readData", 40), 40);
      const asks = [...Array(10).keys()].map((i) => ["read", `/etc/nope-${i}`]);
      await p.invoke("denied", [...asks, ...asks, ["read", "/etc/nope-0"]]);
    } finally {
      await p.close();
    }
    const records = audit.lines.map((l) => JSON.parse(l) as AuditRecordLike);
    assert.ok(
      records.some((r) => r.type === "audit-suppressed"),
      "the budget suppressed records",
    );
    const tally = new GrantUsageTally();
    for (const r of records) tally.observe(r);
    const u = tally.plugin("test.flood", { permissions: { read: ["data/", "other/"] } });
    assert.deepEqual(
      u.rules.map((r) => [r.source, r.uses]),
      [
        ["permissions.read[0]", 40],
        ["permissions.read[1]", 0],
      ],
    );
    assert.equal(u.denials, 21);
    assert.equal(
      u.denied.reduce((n, d) => n + d.count, 0),
      21,
    );
    assert.deepEqual(u.neverUsed, ["permissions.read[1]"]);
    assert.deepEqual(u.sufficient, { read: ["data/"] });
  });

  it("synthetic deny-repeat, deny-aggregate and audit-suppressed records", () => {
    const t = new GrantUsageTally();
    const at = (time: string, r: { readonly type: string; readonly [field: string]: unknown }): AuditRecordLike => ({ ...r, plugin: "acme.x", time });
    const records: AuditRecordLike[] = [
      at("2024-01-01T00:00:00.000Z", { type: "use", permission: "net", rule: "api.example.com", source: "permissions.net[0]" }),
      at("2024-01-01T00:00:01.000Z", { type: "deny", permission: "read", value: "/etc/passwd" }),
      at("2024-01-01T00:00:02.000Z", { type: "deny-repeat", permission: "read", value: "/etc/passwd", count: 4 }),
      at("2024-01-01T00:00:03.000Z", { type: "deny-aggregate", permission: "read", op: "readTextFile", count: 50, samples: ["/a", "/b"] }),
      at("2024-01-01T00:01:00.000Z", {
        type: "audit-suppressed",
        records: 13,
        counts: [
          { type: "use", permission: "net", op: "fetch", rule: "api.example.com", records: 10, count: 10 },
          { type: "use", permission: "channels.subscribe", op: "subscribe", rule: "true", records: 1, count: 1 },
          { type: "deny-aggregate", permission: "env", op: "get", records: 1, count: 7 },
          { type: "*", permission: "*", op: "*", records: 1, count: 2 },
        ],
      }),
    ];
    for (const r of records) t.observe(r);
    const u = t.plugin("acme.x", { permissions: { net: ["api.example.com", "*.example.org"], read: ["data/"], channels: true } });
    assert.deepEqual(
      u.rules.map((r) => [r.source, r.uses, r.lastUsed]),
      [
        ["permissions.read[0]", 0, null],
        ["permissions.net[0]", 11, "2024-01-01T00:01:00.000Z"],
        ["permissions.net[1]", 0, null],
        ["permissions.channels", 1, "2024-01-01T00:01:00.000Z"],
      ],
    );
    assert.deepEqual(
      u.denied.map((d) => [d.permission, d.value, d.count, d.samples]),
      [
        ["read", null, 50, ["/a", "/b"]],
        ["env", null, 7, []],
        ["read", "/etc/passwd", 5, []],
      ],
    );
    assert.equal(u.denials, 62);
    assert.equal(u.unattributed, 2);
    // channels: true used only to subscribe: the smaller manifest keeps that direction only.
    assert.deepEqual(u.sufficient, { net: ["api.example.com"], channels: { subscribe: true } });
  });

  it("true stays true only if used; channels: true used both ways stays true", () => {
    const t = new GrantUsageTally();
    for (const permission of ["channels.publish", "channels.subscribe"]) t.observe({ type: "use", plugin: "acme.y", permission, rule: "true", source: "permissions.channels" });
    t.observe({ type: "use", plugin: "acme.y", permission: "env", rule: "true", source: "permissions.env" });
    assert.deepEqual(t.plugin("acme.y", { permissions: { env: true, read: true, channels: true } }).sufficient, { env: true, channels: true });
    assert.deepEqual(t.plugin("acme.y", { permissions: {} }).sufficient, {});
  });

  it("the tally stays bounded whatever values a plugin asks for", () => {
    const t = new GrantUsageTally();
    for (let i = 0; i < 5000; i++) t.observe({ type: "deny", plugin: "acme.z", permission: "read", value: `/x/${i}` });
    const u = t.plugin("acme.z");
    assert.ok(u.denied.length <= 257, String(u.denied.length));
    assert.equal(u.denials, 5000);
    assert.equal(u.sufficient, null);
  });
});

describe("grant usage: --since", () => {
  let s: Scratch;
  before(() => {
    s = scratch();
  });
  after(() => s.cleanup());

  it("counts only records at or after it; the grant record before it still names the rules", () => {
    const file = join(s.root, "since.jsonl");
    let clock = Date.parse("2024-01-01T00:00:00Z");
    const log = openAuditLog(file, () => new Date(clock));
    log.append({ type: "grant", plugin: "acme.s", version: "2.0.0", permissions: { read: ["a/", "b/"] } });
    log.append({ type: "use", plugin: "acme.s", permission: "read", rule: "a/", source: "permissions.read[0]" });
    log.append({ type: "deny", plugin: "acme.s", permission: "read", value: "/etc/x" });
    clock = Date.parse("2024-06-01T00:00:00Z");
    log.append({ type: "use", plugin: "acme.s", permission: "read", rule: "b/", source: "permissions.read[1]" });
    log.append({ type: "use", plugin: "acme.old", permission: "net", rule: "x.example", source: "permissions.net[0]" });
    log.close();
    const all = readUsageEvidence(file, null);
    assert.ok(all.ok);
    assert.deepEqual(
      plugin(all.tally.report(new Map()), "acme.s").rules.map((r) => r.uses),
      [1, 1],
    );
    const later = readUsageEvidence(file, parseSince("2024-03-01"));
    assert.ok(later.ok);
    const report = later.tally.report(new Map());
    assert.equal(report.since, "2024-03-01T00:00:00.000Z");
    assert.equal(report.records, 2);
    const p = plugin(report, "acme.s");
    assert.deepEqual(
      p.rules.map((r) => [r.source, r.uses, r.lastUsed]),
      [
        ["permissions.read[0]", 0, null],
        ["permissions.read[1]", 1, "2024-06-01T00:00:00.000Z"],
      ],
    );
    assert.deepEqual(p.denied, []);
    assert.deepEqual(p.sufficient, { read: ["b/"] });
    // No grant record for acme.old: its rules are what its records name, and nothing can be said to suffice.
    const old = plugin(report, "acme.old");
    assert.equal(old.rulesFrom, null);
    assert.deepEqual(
      old.rules.map((r) => [r.source, r.rule, r.uses, r.inManifest]),
      [["permissions.net[0]", "x.example", 1, false]],
    );
    assert.equal(old.sufficient, null);
    // Past every record: the plugins the log names before then are not in the period.
    const none = readUsageEvidence(file, parseSince("2025-01-01"));
    assert.ok(none.ok);
    assert.deepEqual(none.tally.pluginIds(), []);
  });

  it("parseSince: dates, times with a zone, spans back from now; anything else is BAD_INPUT naming it", () => {
    const now = new Date("2024-05-10T12:00:00Z");
    assert.equal(parseSince("2024-05-01", now), Date.parse("2024-05-01T00:00:00Z"));
    assert.equal(parseSince("2024-05-01T12:30:00Z", now), Date.parse("2024-05-01T12:30:00Z"));
    assert.equal(parseSince("2024-05-01T14:30+02:00", now), Date.parse("2024-05-01T12:30:00Z"));
    assert.equal(parseSince("7d", now), Date.parse("2024-05-03T12:00:00Z"));
    assert.equal(parseSince("12h", now), Date.parse("2024-05-10T00:00:00Z"));
    for (const bad of ["yesterday", "2024-02-30", "2024-13-01", "2024-05-01T12:00", "", "7w", "-1d"]) {
      assert.throws(
        () => parseSince(bad, now),
        (e: Error & { code?: string }) => e.code === "BAD_INPUT" && e.message.includes(`--since "${bad}" is not a date`),
        bad,
      );
    }
  });

  it("a tampered log gives no figures, naming the first bad line", () => {
    const file = join(s.root, "tampered.jsonl");
    const log = openAuditLog(file);
    log.append({ type: "use", plugin: "acme.t", permission: "read", rule: "a/", source: "permissions.read[0]" });
    log.append({ type: "use", plugin: "acme.t", permission: "read", rule: "a/", source: "permissions.read[0]" });
    log.close();
    writeFileSync(file, readFileSync(file, "utf8").replace(/"rule":"a\/"/, '"rule":"b/"'));
    const evidence = readUsageEvidence(file, null);
    assert.equal(evidence.ok, false);
    assert.ok(!evidence.ok && evidence.line === 1, JSON.stringify(evidence));
    assert.throws(() => readUsageEvidence(join(s.root, "missing.jsonl"), null), { code: "BAD_INPUT", message: /cannot read the audit log ".*missing\.jsonl" \(ENOENT\)/ });
  });

  it("grantRules lists rules in the order warden check does", () => {
    assert.deepEqual(
      grantRules({ plugins: ["a.b"], env: true, channels: { subscribe: ["x"] }, read: ["r"] }).map((r) => r.source),
      ["permissions.read[0]", "permissions.env", "permissions.channels.subscribe[0]", "permissions.plugins[0]"],
    );
  });
});
