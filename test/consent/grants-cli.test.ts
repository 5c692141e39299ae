// `warden grants` as an operator runs it, each command its own process (bin/warden.js, cwd a
// scratch directory): exit status 0 done, 2 usage (an unknown id or subcommand, a malformed option,
// a corrupt approvals file), and a refused command changes nothing (the approvals file's bytes are
// compared). Then the flow across processes: a host watching the plugins directory loads what
// `warden grants approve` approves, keeps an update `warden install` put there pending (the
// approved version answering) until it is approved too, and stops every grant at `warden grants
// revoke` while a pure entry still answers.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createHost, type Host } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";

const BIN = join(REPO_ROOT, "bin/warden.js");

type Output = { status: number | null; stdout: string; stderr: string; json: Record<string, unknown> | null };

function parse(stdout: string): Record<string, unknown> | null {
  try {
    return JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** `warden <args>` in `cwd`, synchronously (the tests that need no host). */
function wardenSync(cwd: string, ...args: string[]): Output {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: parse(r.stdout) };
}

/** `warden <args>` in `cwd` without blocking this process's event loop (a host in it is watching). */
function warden(cwd: string, ...args: string[]): Promise<Output> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolveRun({ status, stdout, stderr, json: parse(stdout) }));
  });
}

/** Poll `f` until it returns something other than undefined, at most `ms`. */

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

type Listing = {
  id: string;
  state: string;
  version: string;
  requested: Record<string, unknown>;
  growth: string[];
  notGranted: string[];
  manifestSha256: string;
  approval: Record<string, unknown> | null;
};

describe("warden grants: ls, approve, diff, deny, revoke", () => {
  let s: Scratch;
  let approvals: string;
  const grants = (...args: string[]) => wardenSync(s.root, "grants", ...args, "--plugins-dir", "plugins");
  const listed = (): Listing[] => {
    const r = grants("ls", "--json");
    assert.equal(r.status, 0, r.stderr);
    return (r.json as { plugins: Listing[] }).plugins;
  };
  const netManifest = (version: string, net: string[]) => manifest("test.net", { version, permissions: { read: ["note.txt"], net } });
  const writeNet = (version: string, net: string[]) => writeFileSync(join(s.root, "plugins/test.net/plugin.json"), JSON.stringify(netManifest(version, net), null, 2));

  before(() => {
    s = scratch();
    s.plugin("plugins/test.net", netManifest("1.0.0", ["api.example.com"]), { "index.js": "export const hi = () => 1;\n", "note.txt": "a note" });
    s.plugin("plugins/test.pure", manifest("test.pure"), { "index.js": "export const hi = () => 1;\n" });
    approvals = join(s.root, "plugins/warden-approvals.json");
  });
  after(() => s.cleanup());

  it("ls: each plugin, what it requests and pending; --json is exactly one object with state, requested and growth", () => {
    const human = grants("ls");
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^test\.net 1\.0\.0 {2}pending$/m);
    assert.match(human.stdout, /^ {2}read: note\.txt$/m);
    assert.match(human.stdout, /^ {2}net: api\.example\.com$/m);
    assert.match(human.stdout, /^ {2}\+ permissions\.net\[0\] "api\.example\.com" is new$/m);
    assert.match(human.stdout, /^test\.pure 1\.0\.0 {2}pending\n {2}requests no permissions$/m);
    const r = grants("ls", "--json");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 1, "one JSON object on one line");
    assert.equal(r.json?.["ok"], true);
    const plugins = (r.json as { plugins: Listing[] }).plugins;
    assert.deepEqual(
      plugins.map((p) => [p.id, p.state, p.requested, p.growth]),
      [
        ["test.net", "pending", { read: ["note.txt"], net: ["api.example.com"] }, ['permissions.read[0] "note.txt" is new', 'permissions.net[0] "api.example.com" is new']],
        ["test.pure", "pending", {}, []],
      ],
    );
    assert.equal(existsSync(approvals), false, "listing writes nothing");
  });

  it("usage errors exit 2 and change nothing: unknown id (the known ones named), --only bogus, a past or malformed --expires, a quota not a positive whole number, an unknown subcommand", () => {
    const unknown = grants("approve", "test.nope");
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^error BAD_INPUT: no plugin "test\.nope" in ".*plugins"; its plugins: test\.net, test\.pure$/m);
    const only = grants("approve", "test.net", "--only", "bogus");
    assert.equal(only.status, 2);
    assert.match(only.stderr, /--only: "bogus" is not a kind of grant; the kinds are read, write, net, exec, env, channels, plugins/);
    const word = grants("approve", "test.net", "--expires", "yesterday");
    assert.equal(word.status, 2);
    assert.match(word.stderr, /--expires: "yesterday" is not a date; write 2027-01-31/);
    const past = grants("approve", "test.net", "--expires", "2001-01-01");
    assert.equal(past.status, 2);
    assert.match(past.stderr, /--expires: "2001-01-01" is not in the future/);
    for (const n of ["0", "1.5", "=-3"]) {
      const args = n.startsWith("=") ? [`--net-requests-per-minute${n}`] : ["--net-requests-per-minute", n];
      const q = grants("approve", "test.net", ...args, "--json");
      assert.equal(q.status, 2, n);
      assert.deepEqual(q.json, { ok: false, error: { code: "BAD_INPUT", message: `--net-requests-per-minute must be a positive whole number, got ${JSON.stringify(n.replace("=", ""))}` } });
    }
    // `-3` after the flag reads as an option: refused by the argument parser, saying how to pass it.
    const dash = grants("approve", "test.net", "--net-requests-per-minute", "-3");
    assert.equal(dash.status, 2);
    assert.match(dash.stderr, /^error BAD_INPUT: Option '--net-requests-per-minute' argument is ambiguous/);
    const sub = grants("approves", "test.net");
    assert.equal(sub.status, 2);
    assert.match(sub.stderr, /^error BAD_INPUT: warden grants: unknown subcommand "approves"; the subcommands are ls, approve, deny, revoke, diff, usage$/m);
    const missingDir = wardenSync(s.root, "grants", "approve", "test.net", "--plugins-dir", "no-such-dir");
    assert.equal(missingDir.status, 2);
    assert.match(missingDir.stderr, /^error BAD_INPUT: cannot read the plugins directory ".*no-such-dir" \(ENOENT\); pass --plugins-dir <dir>$/m);
    assert.equal(existsSync(join(s.root, "no-such-dir")), false);
    assert.equal(existsSync(approvals), false, "no refusal wrote an approvals file");
    assert.equal(existsSync(join(s.root, "plugins/warden-consent.jsonl")), false, "no refusal wrote a consent record");
    // Control: the same command, well formed, is approved.
    const ok = grants("approve", "test.net", "--net-requests-per-minute", "3");
    assert.equal(ok.status, 0, ok.stderr);
  });

  it("approve: exit 0, pinned to plugin.json's sha256, recorded in a consent log that warden audit finds intact", () => {
    const r = grants("approve", "test.net");
    assert.equal(r.status, 0, r.stderr);
    const sha = sha256(join(s.root, "plugins/test.net/plugin.json"));
    assert.match(r.stdout, new RegExp(`^approved test\\.net 1\\.0\\.0: pinned to plugin\\.json sha256 ${sha}$`, "m"));
    const file = JSON.parse(readFileSync(approvals, "utf8")) as { plugins: Record<string, Record<string, unknown>> };
    const a = file.plugins["test.net"];
    assert.equal(a?.["decision"], "approved");
    assert.equal(a?.["version"], "1.0.0");
    assert.equal(a?.["manifestSha256"], sha);
    assert.deepEqual(a?.["permissions"], { read: ["note.txt"], net: ["api.example.com"] });
    assert.deepEqual([a?.["only"], a?.["expires"], a?.["quotas"]], [null, null, {}], "a plain approval has no terms (the earlier quota was replaced)");
    const audit = wardenSync(s.root, "audit", "plugins/warden-consent.jsonl");
    assert.equal(audit.status, 0, audit.stderr);
    assert.match(audit.stdout, /^intact: 2 record\(s\); head [0-9a-f]{64}$/m);
    const [net, pure] = listed();
    assert.deepEqual([net?.state, net?.growth, pure?.state], ["approved", [], "pending"]);
  });

  it("approve with --only, --expires and every quota: ls --json shows them (and what --only left out)", () => {
    const r = grants(
      "approve",
      "test.net",
      "--only",
      "net",
      "--expires",
      "2099-01-01",
      "--net-requests-per-minute",
      "5",
      "--net-bytes-per-day",
      "1000000",
      "--exec-per-minute",
      "2",
      "--write-bytes-per-day",
      "4096",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^approved test\.net 1\.0\.0 \(only net\), until 2099-01-01T00:00:00\.000Z: pinned/m);
    const [net] = listed();
    assert.equal(net?.state, "approved");
    assert.deepEqual(net?.notGranted, ["read"]);
    const a = net?.approval ?? {};
    assert.deepEqual(a["only"], ["net"]);
    assert.equal(a["expires"], "2099-01-01T00:00:00.000Z");
    assert.deepEqual(a["quotas"], { netRequestsPerMinute: 5, netBytesPerDay: 1000000, execPerMinute: 2, writeBytesPerDay: 4096 });
    assert.deepEqual(a["permissions"], { net: ["api.example.com"] });
    const human = grants("ls");
    assert.match(human.stdout, /^ {2}read: note\.txt {2}\(not granted: --only\)$/m);
    assert.match(human.stdout, /; only net; expires 2099-01-01T00:00:00\.000Z; netRequestsPerMinute 5; netBytesPerDay 1000000; execPerMinute 2; writeBytesPerDay 4096$/m);
  });

  it("a refused approve of an approved plugin leaves the approvals file byte for byte", () => {
    const before = readFileSync(approvals);
    const log = readFileSync(join(s.root, "plugins/warden-consent.jsonl"));
    for (const args of [
      ["test.nope"],
      ["test.net", "--only", "bogus"],
      ["test.net", "--expires", "2001-01-01"],
      ["test.net", "--exec-per-minute", "0"],
      ["test.net", "--write-bytes-per-day", "1.5"],
    ]) {
      const r = grants("approve", ...args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^error BAD_INPUT: /);
    }
    assert.deepEqual(readFileSync(approvals), before);
    assert.deepEqual(readFileSync(join(s.root, "plugins/warden-consent.jsonl")), log);
  });

  it("a corrupt approvals file: APPROVALS_INVALID, exit 2, for every subcommand, and the file is left as it was (control: restored, approve works)", () => {
    const good = readFileSync(approvals);
    const corrupt = '{"approvalsVersion":1,"plugins":{\n';
    writeFileSync(approvals, corrupt);
    for (const args of [["approve", "test.net"], ["deny", "test.pure"], ["revoke", "test.net"], ["ls"], ["diff", "test.net"]]) {
      const r = grants(...args, "--json");
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}`);
      const error = (r.json as { error: { code: string; message: string; problems: string[] } }).error;
      assert.equal(error.code, "APPROVALS_INVALID");
      assert.match(error.message, /warden-approvals\.json" is not a warden approvals file of version 1:\nnot valid JSON/);
      assert.match(error.message, /nothing was loaded or changed: restore it from a backup/);
      assert.equal(readFileSync(approvals, "utf8"), corrupt, `${args[0]} left the file as it was`);
    }
    const human = grants("approve", "test.net");
    assert.equal(human.status, 2);
    assert.match(human.stderr, /^error APPROVALS_INVALID: ".*warden-approvals\.json" is not a warden approvals file of version 1:$/m);
    assert.equal(existsSync(join(s.root, "plugins/warden-approvals.lock")), false, "the lock is released");
    writeFileSync(approvals, good);
    assert.equal(grants("approve", "test.net").status, 0);
  });

  it("diff: a manifest that grew shows + lines; one that shrank shows - lines and nothing grew", () => {
    assert.equal(grants("approve", "test.net").status, 0);
    const same = grants("diff", "test.net");
    assert.equal(same.status, 0, same.stderr);
    assert.match(same.stdout, /^test\.net 1\.0\.0 against the approval of 1\.0\.0 \([0-9a-f]{12}…\):\nno change in permissions\n$/);
    writeNet("1.1.0", ["api.example.com", "b.example.com"]);
    const grew = grants("diff", "test.net");
    assert.equal(grew.status, 0, grew.stderr);
    assert.match(grew.stdout, /^test\.net 1\.1\.0 against the approval of 1\.0\.0/);
    assert.match(grew.stdout, /^\+ permissions\.net\[1\] "b\.example\.com" is new$/m);
    assert.doesNotMatch(grew.stdout, /nothing grew|no change/);
    const [net] = listed();
    assert.deepEqual([net?.state, net?.growth], ["pending", ['permissions.net[1] "b.example.com" is new']]);
    assert.match(grants("ls").stdout, /^test\.net 1\.1\.0 {2}pending \(grew since 1\.0\.0\)$/m);
    writeNet("1.2.0", []);
    const shrank = grants("diff", "test.net");
    assert.equal(shrank.status, 0, shrank.stderr);
    assert.match(shrank.stdout, /^- permissions\.net\[0\] "api\.example\.com" is no longer asked for$/m);
    assert.match(shrank.stdout, /^nothing grew: no new approval needed$/m);
    assert.doesNotMatch(shrank.stdout, /^\+/m);
    const json = grants("diff", "test.net", "--json");
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual([json.json?.["grew"], json.json?.["shrank"]], [[], ['permissions.net[0] "api.example.com" is no longer asked for']]);
    const unknown = grants("diff", "test.nope");
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /no plugin "test\.nope" in .*; its plugins: test\.net, test\.pure/);
    writeNet("1.0.0", ["api.example.com"]);
  });

  it("deny and revoke; revoking what was never approved is exit 2 and suggests deny (control: revoking an approval works)", () => {
    const never = grants("revoke", "test.pure");
    assert.equal(never.status, 2);
    assert.equal(never.stderr, "error BAD_INPUT: plugin test.pure has no approval to revoke: it was never approved; to refuse it, warden grants deny test.pure\n");
    assert.equal(listed()[1]?.approval, null, "nothing recorded");
    const deny = grants("deny", "test.pure", "--reason", "not needed");
    assert.equal(deny.status, 0, deny.stderr);
    assert.match(deny.stdout, /^denied test\.pure: it does not load on a host with approvals required; recorded in .*warden-consent\.jsonl$/m);
    const revoke = grants("revoke", "test.net", "--reason", "leaks notes");
    assert.equal(revoke.status, 0, revoke.stderr);
    assert.match(revoke.stdout, /^revoked test\.net: every grant stops/m);
    const [net, pure] = listed();
    assert.deepEqual([net?.state, net?.approval?.["reason"], pure?.state, pure?.approval?.["reason"]], ["revoked", "leaks notes", "denied", "not needed"]);
    const human = grants("ls");
    assert.match(human.stdout, /^test\.net 1\.0\.0 {2}revoked$/m);
    assert.match(human.stdout, /^ {2}denied 1\.0\.0 \(plugin\.json sha256 [0-9a-f]{12}…\) by .+ at .+: not needed$/m);
    const again = grants("revoke", "test.pure");
    assert.equal(again.status, 2);
    assert.match(again.stderr, /has no approval to revoke: it is denied already \(by .* at .*\)/);
    const audit = wardenSync(s.root, "audit", "plugins/warden-consent.jsonl");
    assert.equal(audit.status, 0, audit.stderr);
    assert.match(audit.stdout, /^intact: /m);
  });
});

const BOT = (version: string) => `
export function hello() { return "v${version}"; }
export async function readNote() { return Warden.fs.readTextFile("note.txt"); }
`;

describe("the operator's flow across processes: a watching host and warden grants / warden install", () => {
  let s: Scratch;
  let host: Host;
  let pluginsDir: string;
  const grants = (...args: string[]) => warden(s.root, "grants", ...args, "--plugins-dir", "plugins");
  const bot = () => host.status().find((p) => p.id === "test.bot");

  before(async () => {
    s = scratch();
    // Installed where `warden install` puts a plugin: <plugins-dir>/<id>.
    s.plugin("plugins/test.bot", manifest("test.bot", { permissions: { read: ["note.txt"] } }), { "index.js": BOT("1.0.0"), "note.txt": "a note" });
    s.plugin("src-1.1.0", manifest("test.bot", { version: "1.1.0", permissions: { read: ["note.txt"], net: ["api.example.com"] } }), { "index.js": BOT("1.1.0"), "note.txt": "a note" });
    s.plugin("src-1.2.0", manifest("test.bot", { version: "1.2.0", permissions: { read: ["note.txt"] } }), { "index.js": BOT("1.2.0"), "note.txt": "a note" });
    pluginsDir = join(s.root, "plugins");
    host = await createHost({ pluginsDir, approvals: "required", watch: true, healthIntervalMs: 0, logger: createDefaultLogger("silent") });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  it("pending until warden grants approve, which the watching host applies", async () => {
    assert.equal(bot()?.state, "pending");
    assert.match(bot()?.reason ?? "", /test\.bot 1\.0\.0 is not approved yet; see what it asks for: warden grants diff test\.bot/);
    const r = await grants("approve", "test.bot");
    assert.equal(r.status, 0, r.stderr);
    await until("the host loads the approved plugin", () => (bot()?.state === "active" ? true : undefined));
    assert.equal(await host.invoke("test.bot", "hello"), "v1.0.0");
    assert.equal(await host.invoke("test.bot", "readNote"), "a note");
    assert.equal(bot()?.approval?.state, "approved");
  });

  it("warden install of an update that adds a net host: pending, the approved version answering; approved again, it runs", async () => {
    const install = await warden(s.root, "install", "src-1.1.0", "--plugins-dir", "plugins");
    assert.equal(install.status, 0, install.stderr);
    assert.match(install.stdout, /^updated test\.bot 1\.1\.0 \(was 1\.0\.0\)/m);
    const pending = await until("the host sees the update wait for approval", () => bot()?.pendingUpdate ?? undefined);
    assert.equal(pending.version, "1.1.0");
    assert.match(pending.reason, /permissions\.net\[0\] "api\.example\.com" is new/);
    assert.deepEqual([bot()?.state, bot()?.version], ["active", "1.0.0"]);
    assert.equal(await host.invoke("test.bot", "hello"), "v1.0.0");
    const diff = await grants("diff", "test.bot");
    assert.match(diff.stdout, /^\+ permissions\.net\[0\] "api\.example\.com" is new$/m);
    const r = await grants("approve", "test.bot");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^approved test\.bot 1\.1\.0: pinned/m);
    await until("the host runs 1.1.0", () => (bot()?.version === "1.1.0" && bot()?.pendingUpdate === null ? true : undefined));
    assert.equal(await host.invoke("test.bot", "hello"), "v1.1.0");
    assert.equal(await host.invoke("test.bot", "readNote"), "a note");
  });

  it("warden grants revoke: a capability call is PERMISSION_DENIED, a pure entry still answers", async () => {
    const r = await grants("revoke", "test.bot", "--reason", "incident 42");
    assert.equal(r.status, 0, r.stderr);
    const denied = await until("the revocation reaches the running plugin", async () => {
      try {
        await host.invoke("test.bot", "readNote");
        return undefined;
      } catch (e) {
        return e as Error & { code?: string };
      }
    });
    assert.equal(denied.code, "PERMISSION_DENIED", denied.message);
    assert.match(denied.message, /approval revoked: .*incident 42/);
    assert.equal(await host.invoke("test.bot", "hello"), "v1.1.0");
    assert.equal(bot()?.state, "active");
    assert.match(bot()?.revoked ?? "", /revoked by .* \(incident 42\)/);
    // Control: approved again, the grant is back.
    assert.equal((await grants("approve", "test.bot")).status, 0);
    await until("the grant is restored", async () => ((await host.invoke("test.bot", "readNote").catch(() => undefined)) === "a note" ? true : undefined));
  });

  it("a second warden install, asking for less: the watching host runs it without asking and re-pins the approval", async () => {
    const install = await warden(s.root, "install", "src-1.2.0", "--plugins-dir", "plugins");
    assert.equal(install.status, 0, install.stderr);
    await until("the host runs 1.2.0", () => (bot()?.version === "1.2.0" ? true : undefined));
    assert.deepEqual([bot()?.state, bot()?.pendingUpdate], ["active", null]);
    assert.equal(await host.invoke("test.bot", "hello"), "v1.2.0");
    assert.equal(await host.invoke("test.bot", "readNote"), "a note");
    const ls = await grants("ls", "--json");
    const [listing] = (ls.json as { plugins: Listing[] }).plugins;
    assert.equal(listing?.state, "approved");
    assert.deepEqual([listing?.approval?.["version"], listing?.approval?.["manifestSha256"], listing?.approval?.["by"]], ["1.2.0", sha256(join(pluginsDir, "test.bot/plugin.json")), "warden host"]);
    const audit = await warden(s.root, "audit", "plugins/warden-consent.jsonl");
    assert.equal(audit.status, 0, audit.stderr);
    assert.match(audit.stdout, /^intact: 5 record\(s\)/m);
  });
});
