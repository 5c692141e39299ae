// The CLI as a user runs it: bin/warden.js in a child process (without --no-node-snapshot, which
// the shim must add itself). Asserts exit status, and exactly one JSON object on stdout with --json.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const BIN = join(REPO_ROOT, "bin/warden.js");
let s: Scratch;
let auditFile: string;

/** What `warden run --json` prints. */
type JsonOutput = { ok: boolean; value?: unknown; error?: { code: string; message: string } };

function warden(...args: string[]): { status: number | null; stdout: string; stderr: string; json: JsonOutput | null } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: s.root, env: { ...process.env, WARDEN_LOG_LEVEL: "info" } });
  let json: JsonOutput | null = null;
  try {
    json = JSON.parse(r.stdout) as JsonOutput;
  } catch {
    // not JSON output
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

function expectError(r: ReturnType<typeof warden>, code: string, message: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout.trim().split("\n").length, 1, "exactly one line of JSON on stdout");
  assert.equal(r.json?.ok, false);
  assert.equal(r.json?.error?.code, code);
  assert.match(r.json?.error?.message ?? "", message);
}

describe("warden CLI", () => {
  before(() => {
    s = scratch();
    auditFile = join(s.root, "audit.jsonl");
    s.plugin("good", manifest("test.good", { permissions: { read: ["data/"] } }), {
      "index.js": `export const hi = (i) => { console.log('to stderr'); return { hi: i ?? null }; };
export const read = (p) => Warden.fs.readTextFile(p);
export const boom = () => { throw new RangeError('exploded'); };`,
      "data/x.txt": "x",
    });
    s.plugin("invalid", { id: "bad/id", name: "x", version: "1" }, { "index.js": "" });
  });
  after(() => s.cleanup());

  it("run --json prints one JSON object with the value and exits 0; console goes to stderr", () => {
    const r = warden("run", "good", "hi", "--input", '{"a":[1,2]}', "--json", "--audit-log", auditFile);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.json, { ok: true, value: { hi: { a: [1, 2] } } });
    assert.match(r.stderr, /to stderr/);
  });

  it("PERMISSION_DENIED: exit 1, and the denial is in the audit log", () => {
    expectError(warden("run", "good", "read", "--input", '"/etc/passwd"', "--json", "--audit-log", auditFile), "PERMISSION_DENIED", /requires read access to "\/etc\/passwd"/);
    const records = readFileSync(auditFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records.some((r) => r["type"] === "deny" && r["plugin"] === "test.good" && r["value"] === "/etc/passwd"));
  });

  it("MANIFEST_INVALID for a missing directory and for an invalid plugin.json", () => {
    expectError(warden("run", "nowhere", "hi", "--json", "--audit-log", auditFile), "MANIFEST_INVALID", /does not exist/);
    expectError(warden("run", "invalid", "hi", "--json", "--audit-log", auditFile), "MANIFEST_INVALID", /id: .*must not contain \//);
  });

  it("ENTRY_NOT_FOUND lists the entries", () => {
    expectError(warden("run", "good", "nope", "--json", "--audit-log", auditFile), "ENTRY_NOT_FOUND", /no entry "nope"; its entries are: boom, hi, read/);
  });

  it("BAD_INPUT for input that is not JSON", () => {
    expectError(warden("run", "good", "hi", "--input", "{nope", "--json", "--audit-log", auditFile), "BAD_INPUT", /--input is not valid JSON/);
  });

  it("PLUGIN_ERROR carries the plugin's message; the human form shows its stack inside the plugin only", () => {
    expectError(warden("run", "good", "boom", "--json", "--audit-log", auditFile), "PLUGIN_ERROR", /RangeError: exploded/);
    const human = warden("run", "good", "boom", "--audit-log", auditFile);
    assert.equal(human.status, 1);
    assert.match(human.stderr, /error PLUGIN_ERROR: RangeError: exploded/);
    assert.match(human.stderr, /at boom \(index\.js:3:/);
    assert.doesNotMatch(human.stderr, /warden:prelude|node:internal|dist\/isolate/);
  });

  it("check: exit 0 for a valid plugin, exit 2 with one line per problem naming the field", () => {
    const ok = warden("check", "good");
    assert.equal(ok.status, 0, ok.stdout);
    const bad = warden("check", "invalid");
    assert.equal(bad.status, 2);
    assert.match(bad.stdout, /invalid\/plugin\.json: id: "bad\/id": must not contain/);
    assert.match(bad.stdout, /invalid\/plugin\.json: version: "1": expected a semantic version/);
    const badJson = warden("check", "invalid", "--json");
    assert.equal(badJson.status, 2);
    assert.equal(badJson.json?.ok, false);
  });

  it("check: prints the effective grants as a table and warns about dangerous combinations", () => {
    s.plugin(
      "risky",
      manifest("test.risky", {
        permissions: { read: ["/etc", "data/"], write: ["./"], net: true, exec: ["sh", "definitely-not-a-command-xyz"], env: ["APP_*"] },
      }),
      { "index.js": "export const x = () => 1;" },
    );
    const r = warden("check", "risky");
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /^KIND +RULE +WHERE +COVERS$/m);
    assert.match(r.stdout, /^read +\/etc +permissions\.read\[0\] +\/etc and everything below it$/m);
    assert.match(r.stdout, /^read +data\/ +permissions\.read\[1\] +.*\/risky\/data \(inside the plugin\)/m);
    assert.match(r.stdout, /^exec +sh +permissions\.exec\[0\] +\/\S*\/sh$/m);
    assert.match(r.stdout, /^env +APP_\* +permissions\.env\[0\] +variables whose names start with APP_$/m);
    assert.match(r.stdout, /warning: .*permissions: the plugin can both read files outside its own directory and reach any network host/);
    assert.match(r.stdout, /warning: .*permissions\.exec\[0\]: "sh" runs whatever code it is given/);
    assert.match(r.stdout, /warning: .*permissions\.exec\[1\]: "definitely-not-a-command-xyz" is not on this host's PATH/);
    assert.match(r.stdout, /warning: .*permissions\.write\[0\]: covers the plugin's own code/);
    const j = warden("check", "risky", "--json");
    const out = JSON.parse(j.stdout) as { ok: boolean; grants: { kind: string; source: string }[]; warnings: { field: string }[] };
    assert.equal(out.grants.length, 7);
    assert.ok(out.warnings.some((w) => w.field === "permissions.net"));
    // Positive control: a plugin that keeps to its own data and named hosts gets no such warning.
    const good = warden("check", "good");
    assert.doesNotMatch(good.stdout, /warning/);
  });

  it("audit: exit 0 with a summary for an intact log, 3 naming the line for a tampered one", () => {
    const ok = warden("audit", auditFile);
    assert.equal(ok.status, 0, ok.stdout);
    assert.match(ok.stdout, /intact: \d+ record\(s\); head [0-9a-f]{64}/);
    assert.match(ok.stdout, /test\.good/);
    const lines = readFileSync(auditFile, "utf8").split("\n");
    lines[1] = (lines[1] ?? "").replace('"type":"', '"type":"x');
    const tampered = join(s.root, "tampered.jsonl");
    writeFileSync(tampered, lines.join("\n"));
    const bad = warden("audit", tampered);
    assert.equal(bad.status, 3);
    assert.match(bad.stdout, /first bad record at line 2/);
    assert.equal(warden("audit", tampered, "--json").json?.ok, false);
  });

  it("help and unknown commands", () => {
    const help = warden("--help");
    assert.equal(help.status, 0);
    assert.match(help.stdout, /warden run <plugin-dir> <entry>/);
    assert.match(warden("run", "--help").stdout, /--audit-log <file>/);
    assert.equal(warden("frobnicate").status, 2);
  });
});
