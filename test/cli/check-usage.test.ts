// `warden check --audit-log` as a user runs it: the grant table gains each rule's uses, last use
// and denials (and --json the figures); without --audit-log nothing changes; a bad --since or a
// tampered log is refused before the plugin is looked at.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { permissions, writeLog } from "../helpers/usage-log.ts";

const BIN = join(REPO_ROOT, "bin/warden.js");
let s: Scratch;

function warden(...args: string[]): { status: number | null; stdout: string; stderr: string; json: Record<string, unknown> | null } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: s.root });
  let json = null;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    // not JSON output
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

describe("warden check --audit-log", () => {
  before(() => {
    s = scratch();
    s.plugin("notes", manifest("acme.notes", { permissions }), { "index.js": "export const x = () => 1;\n" });
    writeLog(join(s.root, "audit.jsonl"));
  });
  after(() => s.cleanup());

  it("the grant table gains uses, last use and denials per rule; --json gains the figures", () => {
    const r = warden("check", "notes", "--audit-log", "audit.jsonl");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^KIND +RULE +WHERE +USES +LAST USED +DENIALS +COVERS$/m);
    assert.match(r.stdout, /^read +data\/ +permissions\.read\[0\] +2 +2024-01-10T08:00:00\.000Z +- +\/\S+\/notes\/data \(inside the plugin\) and everything below it$/m);
    assert.match(r.stdout, /^read +cache\/ +permissions\.read\[1\] +0 +never +- +.* \(NEVER USED\)$/m);
    assert.match(r.stdout, /^net +http:\/\/169\.254\.169\.254\/ +\(denied\) +- +2024-06-01T09:30:00\.000Z +10 +no rule covers it$/m);
    assert.ok(!r.stdout.includes("\u001b"), "no raw escape character on the terminal");
    assert.match(r.stdout, /^acme\.notes 1\.0\.0: valid$/m);
    const j = warden("check", "notes", "--audit-log", "audit.jsonl", "--since", "2024-03-01", "--json");
    assert.equal(j.status, 0, j.stderr);
    const json = j.json as { grants: Array<{ source: string; uses: number; lastUsed: string | null }>; usage: Record<string, unknown> };
    assert.deepEqual(
      json.grants.map((g) => [g.source, g.uses, g.lastUsed]),
      [
        ["permissions.read[0]", 0, null],
        ["permissions.read[1]", 0, null],
        ["permissions.net[0]", 31, "2024-06-01T09:30:00.000Z"],
        ["permissions.net[1]", 0, null],
        ["permissions.env[0]", 1, "2024-06-01T09:30:00.000Z"],
      ],
    );
    assert.equal(json.usage["since"], "2024-03-01T00:00:00.000Z");
    assert.equal(json.usage["denials"], 10);
    assert.deepEqual(json.usage["sufficient"], { net: ["api.example.com"], env: ["TOKEN"] });
  });

  it("without --audit-log nothing changes; --since alone, a malformed --since or a tampered log are refused", () => {
    const plain = warden("check", "notes");
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stdout, /^KIND +RULE +WHERE +COVERS$/m);
    const plainJson = warden("check", "notes", "--json").json as { grants: Array<Record<string, unknown>>; usage?: unknown };
    assert.equal(plainJson.usage, undefined);
    assert.equal(plainJson.grants[0]?.["uses"], undefined);
    const alone = warden("check", "notes", "--since", "7d");
    assert.equal(alone.status, 2);
    assert.match(alone.stderr, /--since needs --audit-log/);
    const bad = warden("check", "notes", "--audit-log", "audit.jsonl", "--since", "2024-5-1", "--json");
    assert.equal(bad.status, 2);
    assert.match((bad.json as { error: { message: string } }).error.message, /^--since "2024-5-1" is not a date/);
    writeFileSync(join(s.root, "cut.jsonl"), readFileSync(join(s.root, "audit.jsonl"), "utf8").split("\n").slice(1).join("\n"));
    const tampered = warden("check", "notes", "--audit-log", "cut.jsonl");
    assert.equal(tampered.status, 3);
    assert.match(tampered.stdout, /^TAMPERED: cut\.jsonl: first bad record at line 1: the record does not follow the one before it/);
    assert.doesNotMatch(tampered.stdout, /KIND/);
  });
});
