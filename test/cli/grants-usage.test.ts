// `warden grants usage` as a user runs it: exit status 0 shown,
// 2 usage, 3 tampered (and then no figure at all); exactly one JSON object on stdout with --json;
// plugin text in the log escaped on the terminal. Each run is `bin/warden.js grants usage ...`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { permissions, writeLog } from "../helpers/usage-log.ts";

const BIN = join(REPO_ROOT, "bin/warden.js");
let s: Scratch;

type Output = { status: number | null; stdout: string; stderr: string; json: Record<string, unknown> | null };

function run(argv: string[]): Output {
  const r = spawnSync(process.execPath, argv, { encoding: "utf8", cwd: s.root });
  let json = null;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    // not JSON output
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}
const usage = (...args: string[]) => run([BIN, "grants", "usage", ...args]);

describe("warden grants usage", () => {
  before(() => {
    s = scratch();
    s.plugin("plugins/acme.notes", manifest("acme.notes", { version: "1.1.0", permissions }), { "index.js": "export const x = () => 1;\n" });
    s.plugin("plugins/acme.idle", manifest("acme.idle", { permissions: { read: true } }), { "index.js": "export const x = () => 1;\n" });
    writeLog(join(s.root, "audit.jsonl"));
  });
  after(() => s.cleanup());

  it("--json: per plugin and rule, uses, last use, denials, never-used rules and the smaller permissions", () => {
    const r = usage("--audit-log", "audit.jsonl", "--json");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 1);
    const json = r.json as { ok: boolean; records: number; since: null; plugins: Array<Record<string, unknown>> };
    assert.equal(json.ok, true);
    assert.equal(json.since, null);
    assert.equal(json.records, 11);
    assert.deepEqual(
      json.plugins.map((p) => [p["id"], p["installed"], p["version"]]),
      [
        ["acme.gone", false, "0.3.0"],
        ["acme.idle", true, "1.0.0"],
        ["acme.notes", true, "1.1.0"],
      ],
    );
    const [gone, idle, notes] = json.plugins as Array<{ rules: Array<Record<string, unknown>>; neverUsed: string[]; denied: unknown[]; sufficient: unknown; rulesFrom: string }>;
    assert.deepEqual(
      notes?.rules.map((x) => [x["source"], x["rule"], x["uses"], x["lastUsed"]]),
      [
        ["permissions.read[0]", "data/", 2, "2024-01-10T08:00:00.000Z"],
        ["permissions.read[1]", "cache/", 0, null],
        ["permissions.net[0]", "api.example.com", 31, "2024-06-01T09:30:00.000Z"],
        ["permissions.net[1]", "*.example.org", 0, null],
        ["permissions.env[0]", "TOKEN", 1, "2024-06-01T09:30:00.000Z"],
      ],
    );
    assert.deepEqual(notes?.neverUsed, ["permissions.read[1]", "permissions.net[1]"]);
    assert.deepEqual(notes?.denied, [
      { permission: "net", value: "http://169.254.169.254/", count: 10, lastDenied: "2024-06-01T09:30:00.000Z", samples: [] },
      { permission: "read", value: "/etc/shadow\\u{001b}[2J", count: 1, lastDenied: "2024-01-10T08:00:00.000Z", samples: [] },
    ]);
    assert.deepEqual(notes?.sufficient, { read: ["data/"], net: ["api.example.com"], env: ["TOKEN"] });
    assert.deepEqual([idle?.neverUsed, idle?.sufficient], [["permissions.read"], {}]);
    assert.deepEqual([gone?.rulesFrom, gone?.neverUsed, gone?.sufficient], ["audit-log", ["permissions.exec[1]"], { exec: ["git"] }]);
  });

  it("human output: a table per plugin with never-used rules marked, denials, and what would have sufficed; plugin text escaped", () => {
    const r = usage("--audit-log", "audit.jsonl", "--plugins-dir", "plugins");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes("\u001b"), "no raw escape character on the terminal");
    assert.match(r.stdout, /^audit log audit\.jsonl: intact; all records: 11 record\(s\), 2024-01-10T08:00:00\.000Z to 2024-06-01T09:30:00\.000Z$/m);
    assert.match(r.stdout, /^acme\.gone 0\.3\.0 \(NOT INSTALLED: rules from the log's last grant record\)$/m);
    assert.match(r.stdout, /^ {2}WHERE +RULE +USES +LAST USED +DENIALS$/m);
    assert.match(r.stdout, /^ {2}permissions\.read\[1\] +cache\/ +0 +never +- +NEVER USED$/m);
    assert.match(r.stdout, /^ {2}permissions\.net\[0\] +api\.example\.com +31 +2024-06-01T09:30:00\.000Z +-$/m);
    assert.match(r.stdout, /^ {2}denied net +http:\/\/169\.254\.169\.254\/ +- +2024-06-01T09:30:00\.000Z +10 +no rule covers it$/m);
    assert.match(r.stdout, /^ {2}denied read +\/etc\/shadow\\u\{001b\}\[2J /m);
    assert.match(r.stdout, /^ {2}34 use\(s\), 11 denial\(s\); never used: permissions\.read\[1\], permissions\.net\[1\]$/m);
    const block = r.stdout.slice(r.stdout.indexOf("acme.notes 1.1.0"));
    const json = block.slice(block.indexOf("would have sufficed:\n") + "would have sufficed:\n".length);
    assert.deepEqual(JSON.parse(json), { read: ["data/"], net: ["api.example.com"], env: ["TOKEN"] });
  });

  it("--since leaves out the records before it; plugin ids choose the plugins shown", () => {
    const r = usage("acme.notes", "--audit-log", "audit.jsonl", "--since", "2024-03-01", "--json");
    assert.equal(r.status, 0, r.stderr);
    const json = r.json as { since: string; records: number; plugins: Array<{ id: string; rules: Array<{ uses: number }>; denials: number; sufficient: unknown }> };
    assert.equal(json.since, "2024-03-01T00:00:00.000Z");
    assert.equal(json.records, 5);
    assert.deepEqual(
      json.plugins.map((p) => p.id),
      ["acme.notes"],
    );
    assert.deepEqual(
      json.plugins[0]?.rules.map((x) => x.uses),
      [0, 0, 31, 0, 1],
    );
    assert.equal(json.plugins[0]?.denials, 10);
    assert.deepEqual(json.plugins[0]?.sufficient, { net: ["api.example.com"], env: ["TOKEN"] });
    // acme.gone has no record since then: not listed (it is not installed either).
    const all = usage("--audit-log", "audit.jsonl", "--since", "2024-03-01T00:00:00Z", "--json");
    assert.deepEqual(
      (all.json as { plugins: Array<{ id: string }> }).plugins.map((p) => p.id),
      ["acme.idle", "acme.notes"],
    );
  });

  it("a tampered log: exit 3, the first bad line named, and no figure printed", () => {
    const text = readFileSync(join(s.root, "audit.jsonl"), "utf8");
    writeFileSync(join(s.root, "tampered.jsonl"), text.replace('"count":9', '"count":0'));
    const r = usage("--audit-log", "tampered.jsonl");
    assert.equal(r.status, 3);
    assert.equal(r.stdout, "TAMPERED: tampered.jsonl: first bad record at line 10: the record's content does not match its hash (edited); no usage figures are shown from it\n");
    const j = usage("--audit-log", "tampered.jsonl", "--json");
    assert.equal(j.status, 3);
    assert.deepEqual(j.json, { ok: false, auditLog: "tampered.jsonl", line: 10, reason: "the record's content does not match its hash (edited)" });
  });

  it("usage errors exit 2 with a clear message: malformed --since, unknown id, unreadable log or plugins directory, unknown option; --help exits 0", () => {
    const since = usage("--audit-log", "audit.jsonl", "--since", "2024-02-30", "--json");
    assert.equal(since.status, 2);
    assert.deepEqual(since.json, {
      ok: false,
      error: {
        code: "BAD_INPUT",
        message:
          '--since "2024-02-30" is not a date: expected a date (2024-05-01, midnight UTC), a time with its zone (2024-05-01T12:00:00Z, 2024-05-01T14:00+02:00) or a span back from now (7d, 12h, 30m)',
      },
    });
    const human = usage("--audit-log", "audit.jsonl", "--since", "last week");
    assert.equal(human.status, 2);
    assert.match(human.stderr, /^error BAD_INPUT: --since "last week" is not a date/);
    assert.equal(human.stdout, "");
    const id = usage("acme.nope", "--audit-log", "audit.jsonl");
    assert.equal(id.status, 2);
    assert.match(id.stderr, /no plugin "acme\.nope" in "plugins" or in the records of "audit\.jsonl"/);
    const missing = usage("--audit-log", "nope.jsonl");
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read the audit log "nope\.jsonl" \(ENOENT\)/);
    const dir = usage("--audit-log", "audit.jsonl", "--plugins-dir", "no-such-dir");
    assert.equal(dir.status, 2);
    assert.match(dir.stderr, /cannot read the plugins directory "no-such-dir" \(ENOENT\)/);
    const option = usage("--bogus");
    assert.equal(option.status, 2);
    assert.match(option.stderr, /Unknown option '--bogus'.*see warden grants usage --help/);
    const help = usage("--help");
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: warden grants usage /);
  });
});
