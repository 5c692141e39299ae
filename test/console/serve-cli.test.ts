// `warden serve` and `warden ls` as an operator runs them: bin/warden.js in a child process.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { approveGrants } from "../../core/consent/grant-decisions.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const BIN = join(REPO_ROOT, "bin/warden.js");

/** Start `warden serve` and resolve once it printed its URL (its stdout so far, and the child). */
function serve(cwd: string, args: string[]): Promise<{ child: ChildProcess; stdout: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, "serve", ...args], { cwd, env: { ...process.env, WARDEN_LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`warden serve printed no URL in 20 s; stderr: ${stderr}`)), 20_000);
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (/\n.*\n/.test(stdout) || /^\{.*\}\n/.test(stdout)) {
        clearTimeout(timer);
        resolve({ child, stdout, stderr: () => stderr });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`warden serve exited ${code}: ${stderr}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("warden serve", () => {
  let s: Scratch;
  before(async () => {
    s = scratch();
    s.plugin("plugins/good", manifest("test.good", { permissions: { read: ["data/", "/tmp/x"], net: ["example.com"], exec: true } }), { "index.js": "export const hi = () => 'hi';" });
    s.plugin("plugins/plain", manifest("test.plain"), { "index.js": "export const hi = () => 'hi';" });
    await approveGrants({ pluginsDir: join(s.root, "plugins"), id: "test.plain" });
  });
  after(() => s.cleanup());

  it("prints the URL with #token= once, the token works on the API, the file is 0600; SIGTERM exits 0", async () => {
    const { child, stdout } = await serve(s.root, ["--port", "0", "--plugins-dir", "plugins", "--audit-log", "state/audit.jsonl"]);
    const m = /warden console: (http:\/\/127\.0\.0\.1:(\d+)\/)#token=([A-Za-z0-9_-]{43})\n/.exec(stdout);
    assert.ok(m !== null, stdout);
    const [, url, port, token] = m as unknown as [string, string, string, string];
    assert.notEqual(port, "0");
    assert.equal(statSync(join(s.root, "state/warden-console.token")).mode & 0o777, 0o600);
    const r = await fetch(`${url}api/plugins`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    const plugins = ((await r.json()) as { plugins: Array<{ id: string; state: string }> }).plugins;
    assert.deepEqual(plugins.map((p) => [p.id, p.state]).sort(), [
      ["test.good", "pending"],
      ["test.plain", "active"],
    ]);
    assert.equal((await fetch(`${url}api/plugins`)).status, 401, "control: without the token");
    const code = exited(child);
    child.kill("SIGTERM");
    assert.equal(await code, 0);

    // Started again: the same token, not printed; the URL without it and where the file is.
    const again = await serve(s.root, ["--port", "0", "--plugins-dir", "plugins", "--audit-log", "state/audit.jsonl", "--json"]);
    const printed = JSON.parse(again.stdout) as { ok: boolean; url: string; tokenFile: string; openUrl?: string };
    assert.equal(printed.ok, true);
    assert.equal(printed.openUrl, undefined);
    assert.ok(!again.stdout.includes(token), "the token is printed only when it was made");
    assert.equal(printed.tokenFile, join(s.root, "state/warden-console.token"));
    assert.equal((await fetch(`${printed.url}api/engines`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const code2 = exited(again.child);
    again.child.kill("SIGINT");
    assert.equal(await code2, 0);
  });

  it("a non-loopback --host is refused without --allow-remote (exit 2, nothing listens)", () => {
    const r = spawnSync(process.execPath, [BIN, "serve", "--host", "0.0.0.0", "--port", "0", "--plugins-dir", "plugins"], { cwd: s.root, encoding: "utf8" });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--host 0\.0\.0\.0 is not a loopback address.*--allow-remote/);
  });

  it("with --allow-remote it starts, with a loud warning", async () => {
    const { child, stderr } = await serve(s.root, ["--host", "0.0.0.0", "--allow-remote", "--port", "0", "--plugins-dir", "plugins", "--audit-log", "state/audit.jsonl"]);
    assert.match(stderr(), /WARNING: the warden console listens on 0\.0\.0\.0/);
    const code = exited(child);
    child.kill("SIGTERM");
    assert.equal(await code, 0);
  });

  it("a token file readable by others is refused with the chmod to run (control: 0600 above)", () => {
    mkdirSync(join(s.root, "loose"), { recursive: true });
    const file = join(s.root, "loose/warden-console.token");
    writeFileSync(file, `${"a".repeat(43)}\n`);
    chmodSync(file, 0o644);
    const r = spawnSync(process.execPath, [BIN, "serve", "--port", "0", "--plugins-dir", "plugins", "--audit-log", "loose/audit.jsonl"], { cwd: s.root, encoding: "utf8" });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /readable or writable by group or others \(mode 644\).*chmod 600/);
  });
});

describe("warden ls", () => {
  let s: Scratch;
  before(async () => {
    s = scratch();
    s.plugin("good", manifest("test.good", { permissions: { read: ["data/", "/tmp/x"], net: ["example.com"], exec: true, channels: { publish: ["a.b"] } } }), { "index.js": "" });
    s.plugin("plain", manifest("test.plain", { version: "2.1.0" }), { "index.js": "" });
    await approveGrants({ pluginsDir: s.root, id: "test.plain" });
  });
  after(() => s.cleanup());

  it("each plugin's id, version, state and a one-line grant summary; --json the same as data", () => {
    const r = spawnSync(process.execPath, [BIN, "ls", "--plugins-dir", s.root], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0] ?? "", /^ID\s+VERSION\s+STATE\s+GRANTS$/);
    assert.match(lines[1] ?? "", /^test\.good\s+1\.0\.0\s+pending\s+read 2, net 1, exec: true, publish 1$/);
    assert.match(lines[2] ?? "", /^test\.plain\s+2\.1\.0\s+approved\s+no grants$/);
    const j = spawnSync(process.execPath, [BIN, "ls", "--plugins-dir", s.root, "--json"], { encoding: "utf8" });
    assert.equal(j.status, 0, j.stderr);
    assert.deepEqual(JSON.parse(j.stdout), {
      ok: true,
      plugins: [
        { id: "test.good", version: "1.0.0", state: "pending", grants: "read 2, net 1, exec: true, publish 1" },
        { id: "test.plain", version: "2.1.0", state: "approved", grants: "no grants" },
      ],
      rejected: [],
    });
  });

  it("an unreadable plugins directory is exit 2 with the reason", () => {
    const r = spawnSync(process.execPath, [BIN, "ls", "--plugins-dir", join(s.root, "nope"), "--json"], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, "BAD_INPUT");
  });
});
