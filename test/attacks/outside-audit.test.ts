// Attacker: whoever can write the audit log's file after the host wrote it (an escaped engine
// without the OS sandbox, a co-tenant process of the same user, a careless operator's tool), and
// the plugin whose values the log records. What "tamper-evident" promises here: `warden audit`
// accepts a line only if it is exactly the bytes warden writes for the values a reader sees (one
// JSON text, one way), and, with an audit key, only records made with that key; it finds a log cut
// short when the operator keeps the head it printed (`--head`), and a keyed log says whether its
// host closed it cleanly and when a host reopened it after it was not.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { formatRecord, hashBody, openAuditLog, type AuditRecordInput } from "../../core/audit/audit-log.ts";
import { verifyAuditBytes, verifyAuditText } from "../../core/audit/verify-audit.ts";
import { createHost } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const KEY = "an audit key of at least 32 chars: 0123456789abcdef";
const BIN = join(REPO_ROOT, "bin/warden.js");

/** A record line as an attacker without the key rewrites it: the body changed, the hash recomputed (sha256). */
function rehash(body: string): string {
  return `${body},"hash":"${hashBody(body)}"}`;
}

/** The body of a line (everything before its hash field). */
function bodyOf(line: string): string {
  return line.slice(0, line.lastIndexOf(',"hash":"'));
}

function sample(s: Scratch, key?: string): { file: string; lines: string[] } {
  const file = join(s.root, `audit-${Math.random().toString(16).slice(2)}.jsonl`);
  const log = openAuditLog(file, undefined, key === undefined ? {} : { key });
  log.append({ type: "grant", plugin: "a.b", permissions: { read: ["data/"] } });
  log.append({ type: "use", plugin: "a.b", op: "Warden.fs.readTextFile()", value: "data/x" });
  log.append({ type: "deny", plugin: "a.b", op: "Warden.fs.readTextFile()", value: "/etc/passwd", decision: "denied" });
  log.close();
  return { file, lines: readFileSync(file, "utf8").trimEnd().split("\n") };
}

describe("outside: what warden audit accepts is exactly what warden writes", () => {
  let s: Scratch;
  before(() => (s = scratch()));
  after(() => s.cleanup());

  it("positive control: an untouched log verifies, and so does a record rewritten the way warden writes it", () => {
    const { lines } = sample(s);
    const v = verifyAuditText(`${lines.join("\n")}\n`);
    assert.equal(v.ok, true);
    assert.equal(v.ok && v.records, 3);
    // The last record rewritten with another value, written as formatRecord would: unkeyed, that
    // is undetectable by design (anyone can compute a sha256), and it must still verify.
    const last = JSON.parse(lines[2] ?? "") as { seq: number; prev: string; time: string } & AuditRecordInput;
    const forged = formatRecord(3, last.prev, { type: "deny", plugin: "a.b", op: "Warden.fs.readTextFile()", value: "/etc/shadow", decision: "denied" }, last.time);
    assert.equal(verifyAuditText([lines[0], lines[1], forged].join("\n")).ok, true);
  });

  it("a record with a duplicate key (the hash covers both, a reader shows the last) is refused", () => {
    const { lines } = sample(s);
    const body = bodyOf(lines[2] ?? "");
    const dup = rehash(body.replace('"decision":"denied"', '"decision":"denied","decision":"allowed"'));
    assert.equal((JSON.parse(dup) as { decision: string }).decision, "allowed", "a JSON reader shows the second one");
    const v = verifyAuditText([lines[0], lines[1], dup].join("\n"));
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.line, 3);
    assert.match(!v.ok ? v.reason : "", /not in the form warden writes/);
    // …and a duplicate of a field the chain is made of.
    const dupSeq = rehash(body.replace('{"seq":3,', '{"seq":3,"seq":3,'));
    assert.equal(verifyAuditText([lines[0], lines[1], dupSeq].join("\n")).ok, false);
  });

  it("non-canonical JSON (spaces, the fixed fields moved, \\u escapes of plain characters, escaped control characters) is refused", () => {
    const { lines } = sample(s);
    const body = bodyOf(lines[2] ?? "");
    const variants = [
      body.replace('"decision":"denied"', '"decision": "denied"'),
      body.replace('{"seq":3,', '{ "seq":3,'),
      body.replace('"type":"deny","plugin":"a.b"', '"plugin":"a.b","type":"deny"'),
      body.replace('"value":"/etc/passwd"', '"value":"/etc/p\\u0061sswd"'),
      body.replace('"value":"/etc/passwd"', '"value":"/etc/passwd\\u001b[2K"'),
      body.replace('"value":"/etc/passwd"', '"value":"/etc/passwd\\u2028"'),
      body.replace('{"seq":3,', '{"seq":3.0,'),
    ];
    for (const b of variants) {
      assert.notEqual(b, body, "the edit applied");
      const v = verifyAuditText([lines[0], lines[1], rehash(b)].join("\n"));
      assert.equal(v.ok, false, b);
      assert.equal(!v.ok && v.line, 3, b);
    }
  });

  it("invalid UTF-8, a UTF-8-encoded lone surrogate, a byte-order mark and CRLF line ends are refused; a plugin's lone surrogate, as warden writes it, verifies", () => {
    const { lines } = sample(s);
    const head = Buffer.from(`${lines[0]}\n${lines[1]}\n`);
    const body = bodyOf(lines[2] ?? "");
    // The decoder's U+FFFD is what the attacker hashes; the file holds other bytes.
    for (const bad of [Buffer.from([0xff]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc0, 0xaf])]) {
      const [before, after] = body.split("/etc/passwd");
      const shown = `${before}/etc/passwd${"\ufffd".repeat(bad.length)}${after}`;
      const line = Buffer.concat([Buffer.from(`${before}/etc/passwd`), bad, Buffer.from(`${after},"hash":"${hashBody(shown)}"}\n`)]);
      const v = verifyAuditBytes(Buffer.concat([head, line]));
      assert.equal(v.ok, false);
      assert.equal(!v.ok && v.line, 3);
      assert.match(!v.ok ? v.reason : "", /UTF-8/);
    }
    const bom = verifyAuditBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${lines.join("\n")}\n`)]));
    assert.equal(!bom.ok && bom.line, 1);
    const crlf = verifyAuditBytes(Buffer.from(`${lines.join("\r\n")}\r\n`));
    assert.equal(!crlf.ok && crlf.line, 1);
    assert.match(!crlf.ok ? crlf.reason : "", /carriage return/);
    // Positive control: a lone surrogate from a plugin is written as a \ud800 escape, and verifies.
    const file = join(s.root, "surrogate.jsonl");
    const log = openAuditLog(file);
    log.append({ type: "deny", plugin: "a.b", value: "x\ud800y" });
    log.close();
    const bytes = readFileSync(file);
    assert.ok(bytes.toString("latin1").includes("x\\ud800y"));
    assert.equal(verifyAuditBytes(bytes).ok, true);
    assert.equal((JSON.parse(bytes.toString("utf8")) as { value: string }).value, "x\ud800y");
  });

  it("two logs spliced, and two writers appending to one file: a splice breaks the chain where the logs meet; a second writer continues the real chain and says so", () => {
    const a = sample(s).lines;
    const other = openAuditLog(join(s.root, "other.jsonl"));
    other.append({ type: "grant", plugin: "e.f", permissions: {} });
    other.append({ type: "use", plugin: "e.f", value: "y" });
    other.append({ type: "use", plugin: "e.f", value: "z" });
    other.close();
    const b = readFileSync(join(s.root, "other.jsonl"), "utf8").trimEnd().split("\n");
    const spliced = verifyAuditText([a[0], a[1], b[2]].join("\n"));
    assert.equal(!spliced.ok && spliced.line, 3);
    const file = join(s.root, "shared.jsonl");
    const one = openAuditLog(file);
    const two = openAuditLog(file);
    one.append({ type: "use", plugin: "a.b", value: "1" });
    two.append({ type: "use", plugin: "c.d", value: "2" });
    one.append({ type: "use", plugin: "a.b", value: "3" });
    one.close();
    two.close();
    // Each writer finds the file changed under it and says so in the chain before continuing it.
    const text = readFileSync(file, "utf8");
    const v = verifyAuditText(text);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.deepEqual(v.ok ? v.notices.map((x) => x.line) : null, [2, 4]);
    assert.match(v.ok ? (v.notices[0]?.notice ?? "") : "", /changed under its writer/);
    const values = text
      .trimEnd()
      .split("\n")
      .map((l) => (JSON.parse(l) as { value?: string }).value);
    assert.deepEqual(values, ["1", undefined, "2", undefined, "3"], "every record kept, in the order written");
    // A writer that chained onto a record that is no longer the last (the race it closes) breaks the chain: never accepted.
    const lines = text.trimEnd().split("\n");
    assert.equal(verifyAuditText([lines[0], lines[2]].join("\n")).ok, false);
  });
});

describe("outside: a keyed log (auditKey) — rewriting, cutting and reopening", () => {
  let s: Scratch;
  before(() => (s = scratch()));
  after(() => s.cleanup());

  it("positive control: a keyed log verifies with its key, says it was closed, and counts its own records", () => {
    const { lines } = sample(s, KEY);
    const v = verifyAuditText(`${lines.join("\n")}\n`, { key: KEY });
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.ok && v.keyed, true);
    assert.equal(v.ok && v.closed, true);
    assert.equal(v.ok && v.records, 5, "audit-open, three records, audit-close");
    assert.deepEqual(v.ok ? v.summary["a.b"] : null, { grants: 1, uses: 1, denials: 1, other: 0 });
  });

  it("a whole log rewritten with recomputed hashes verifies without the key but not with it", () => {
    const { lines } = sample(s, KEY);
    // Rewritten from line 2 on, every hash recomputed (sha256) and every prev relinked.
    let prev = (JSON.parse(lines[0] ?? "") as { hash: string }).hash;
    const out = [lines[0] ?? ""];
    for (const line of lines.slice(1)) {
      const r = JSON.parse(line) as Record<string, unknown> & AuditRecordInput;
      const text = formatRecord(r["seq"] as number, prev, { ...r, value: r["value"] === "/etc/passwd" ? "/etc/motd" : r["value"] }, r["time"] as string);
      out.push(text);
      prev = text.slice(-66, -2);
    }
    const v = verifyAuditText(out.join("\n"), { key: KEY });
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.line, 2);
    const noKey = verifyAuditText(lines.join("\n"));
    assert.equal(noKey.ok, false, "a keyed log is not taken as intact without its key");
    assert.match(!noKey.ok ? noKey.reason : "", /keyed.*WARDEN_AUDIT_KEY/);
    const wrongKey = verifyAuditText(lines.join("\n"), { key: `${KEY}!` });
    assert.equal(wrongKey.ok, false);
  });

  it("the tail cut off: found by the kept head; without it, the log says it was not closed; a host that reopens it records that", () => {
    const { file, lines } = sample(s, KEY);
    const full = verifyAuditText(`${lines.join("\n")}\n`, { key: KEY });
    const kept = full.ok ? full.head : "";
    const cut = `${lines.slice(0, 3).join("\n")}\n`;
    const byHead = verifyAuditText(cut, { key: KEY, head: kept });
    assert.equal(byHead.ok, false);
    assert.match(!byHead.ok ? byHead.reason : "", /kept head/);
    assert.equal(verifyAuditText(`${lines.join("\n")}\n`, { key: KEY, head: kept }).ok, true, "positive control: the whole log has the kept head");
    const open = verifyAuditText(cut, { key: KEY });
    assert.equal(open.ok && open.closed, false);
    // The host starts again on the cut log: its first record says the log was not closed before.
    writeFileSync(file, cut);
    const again = openAuditLog(file, undefined, { key: KEY });
    again.append({ type: "use", plugin: "a.b", value: "after" });
    again.close();
    const v = verifyAuditText(readFileSync(file, "utf8"), { key: KEY });
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.deepEqual(v.ok ? v.notices.map((x) => x.line) : null, [4]);
    assert.equal(v.ok && v.closed, true);
  });

  it("a host refuses to chain onto a last record its key did not make (a forged or unkeyed tail)", () => {
    const { file, lines } = sample(s, KEY);
    const last = JSON.parse(lines.at(-1) ?? "") as Record<string, unknown> & AuditRecordInput;
    writeFileSync(file, `${[...lines.slice(0, -1), formatRecord(last["seq"] as number, last["prev"] as string, last, last["time"] as string)].join("\n")}\n`);
    assert.throws(() => openAuditLog(file, undefined, { key: KEY }), /not made with this audit key/);
    const plain = sample(s).file;
    assert.throws(() => openAuditLog(plain, undefined, { key: KEY }), /not made with this audit key/);
  });

  it("a short key is refused by createHost, naming the option", async () => {
    await assert.rejects(createHost({ pluginsDir: s.root, auditLog: join(s.root, "k.jsonl"), auditKey: "short" }), /auditKey/);
  });
});

describe("outside: a plugin's values in the log and in warden audit", () => {
  let s: Scratch;
  before(() => (s = scratch()));
  after(() => s.cleanup());

  it("a denial value with a newline, a fake hash field and a closing brace stays one record of a keyed chain", async () => {
    const fake = `x"},\n{"seq":99,"hash":"${"0".repeat(64)}"}\r\n,"hash":"${"f".repeat(64)}"}`;
    s.plugin("liar", manifest("t.liar", { permissions: { read: ["data/"] } }), {
      "index.js": `export async function lie(v) { try { await Warden.fs.readTextFile(v); } catch (e) { return e.code; } }
export async function ok() { return Warden.fs.readTextFile("data/x.txt"); }`,
      "data/x.txt": "fine",
    });
    const file = join(s.root, "plugin-audit.jsonl");
    const host = await createHost({ pluginsDir: s.root, auditLog: file, auditKey: KEY, logger: createDefaultLogger("silent") });
    try {
      await host.loadAll();
      assert.equal(await host.invoke("t.liar", "lie", `/${fake}`), "PERMISSION_DENIED");
      assert.equal(await host.invoke("t.liar", "ok"), "fine", "positive control: the granted read works");
    } finally {
      await host.close();
    }
    const text = readFileSync(file, "utf8");
    const v = verifyAuditText(text, { key: KEY });
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.ok && v.closed, true);
    const records = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const denial = records.find((r) => r["type"] === "deny" && String(r["value"]).includes('"seq":99'));
    assert.ok(denial, "the denial is one record");
    assert.ok(!String(denial["value"]).includes("\n") && !String(denial["value"]).includes("\r"), "its newlines are escaped");
    assert.equal(records.filter((r) => r["seq"] === 99).length, 0);
  });

  it("WARDEN_AUDIT_KEY_FILE keeps the key out of the environment: a private file verifies; a file others can read, a link, both variables, a short key are refused naming the fix", () => {
    const run = (args: string[], env: Record<string, string> = {}) => {
      const base = { ...process.env };
      delete base["WARDEN_AUDIT_KEY"];
      delete base["WARDEN_AUDIT_KEY_FILE"];
      return spawnSync(process.execPath, [BIN, "audit", ...args], { encoding: "utf8", cwd: s.root, env: { ...base, ...env } });
    };
    const { file } = sample(s, KEY);
    const keyFile = join(s.root, "audit.key");
    writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    const ok = run([file], { WARDEN_AUDIT_KEY_FILE: keyFile });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /closed cleanly/, "positive control: the key from the file verifies the keyed log");
    const wrong = join(s.root, "wrong.key");
    writeFileSync(wrong, "another key of enough characters, not this log's", { mode: 0o600 });
    chmodSync(wrong, 0o600);
    assert.equal(run([file], { WARDEN_AUDIT_KEY_FILE: wrong }).status, 3, "the file's key is the one used");
    chmodSync(keyFile, 0o640);
    const shared = run([file], { WARDEN_AUDIT_KEY_FILE: keyFile });
    assert.notEqual(shared.status, 0);
    assert.match(shared.stderr, /WARDEN_AUDIT_KEY_FILE=".*audit\.key": the key file can be read by others \(mode 640\); make it private to its owner: chmod 600/);
    chmodSync(keyFile, 0o600);
    const link = join(s.root, "audit-link.key");
    symlinkSync(keyFile, link);
    assert.match(run([file], { WARDEN_AUDIT_KEY_FILE: link }).stderr, /it is a symbolic link; name the file itself/);
    assert.match(run([file], { WARDEN_AUDIT_KEY_FILE: keyFile, WARDEN_AUDIT_KEY: KEY }).stderr, /both WARDEN_AUDIT_KEY and WARDEN_AUDIT_KEY_FILE are set/);
    const short = join(s.root, "short.key");
    writeFileSync(short, "short\n", { mode: 0o600 });
    chmodSync(short, 0o600);
    assert.match(run([file], { WARDEN_AUDIT_KEY_FILE: short }).stderr, /the key in WARDEN_AUDIT_KEY_FILE \(.*short\.key\): an audit key must be a secret of at least/);
    assert.match(run([file], { WARDEN_AUDIT_KEY_FILE: join(s.root, "none.key") }).stderr, /none\.key": it cannot be opened \(ENOENT\)/);
  });

  it("warden audit: --head finds a cut log, a missing or empty file with a kept head is TAMPERED, WARDEN_AUDIT_KEY verifies a keyed one", () => {
    const run = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [BIN, "audit", ...args], { encoding: "utf8", cwd: s.root, env: { ...process.env, ...env } });
    const { file, lines } = sample(s, KEY);
    const ok = run([file, "--json"], { WARDEN_AUDIT_KEY: KEY });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const head = (JSON.parse(ok.stdout) as { head: string }).head;
    assert.match(run([file], { WARDEN_AUDIT_KEY: KEY }).stdout, /closed cleanly/);
    assert.equal(run([file, "--head", head], { WARDEN_AUDIT_KEY: KEY }).status, 0, "positive control: the kept head is there");
    assert.equal(run([file]).status, 3, "a keyed log without its key is not called intact");
    writeFileSync(file, `${lines.slice(0, 3).join("\n")}\n`);
    const cut = run([file, "--head", head], { WARDEN_AUDIT_KEY: KEY });
    assert.equal(cut.status, 3, cut.stdout);
    assert.match(cut.stdout, /TAMPERED/);
    assert.match(run([file], { WARDEN_AUDIT_KEY: KEY }).stdout, /not closed/);
    writeFileSync(file, "");
    assert.equal(run([file, "--head", head], { WARDEN_AUDIT_KEY: KEY }).status, 3);
    const missing = run([join(s.root, "gone.jsonl"), "--head", head]);
    assert.equal(missing.status, 3, missing.stdout + missing.stderr);
    assert.equal(run([file, "--head", "nothex"]).status, 2, "a malformed head is a usage error");
  });
});
