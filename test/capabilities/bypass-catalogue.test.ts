// The bypasses of docs/security.md (bypass IDs) that apply to warden and are not
// already covered next to their capability (fs-read, fs-write, net, exec-env tests), each written
// as the attacker wrote it, by ID, next to the use that must keep working.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createCapabilities, type AuditEvent, type Capabilities, type Grants } from "../../capabilities/index.ts";
import { fixedDns, nodePorts, TEST_LIMITS } from "../helpers/ports.ts";
import { scratch, type Scratch } from "../helpers/plugin-dir.ts";

let s: Scratch;
let dir: string;
const events: AuditEvent[] = [];

function caps(grants: Grants, dns: Record<string, string[]> = {}): Promise<Capabilities> {
  return createCapabilities({
    pluginId: "test.attacker",
    pluginDir: dir,
    grants,
    ports: nodePorts({ dns: fixedDns(dns) }),
    audit: { record: (e) => events.push(e) },
    limits: TEST_LIMITS,
  });
}

async function isDenied(p: Promise<unknown>, expect?: RegExp): Promise<string> {
  let message = "";
  await assert.rejects(p, (e: Error & { code?: string }) => {
    assert.equal(e.code, "PERMISSION_DENIED", e.message);
    if (expect) assert.match(e.message, expect);
    message = e.message;
    return true;
  });
  return message;
}

describe("bypass catalogue (docs/security.md, bypass IDs)", () => {
  before(() => {
    s = scratch();
    dir = s.plugin("attacker", {}, { "data/ok.txt": "ok", "data/keys/id.pub": "public key", "data/keys/id": "private key", "bin/tool": "#!/bin/sh\necho tool\n" });
    chmodSync(join(dir, "bin/tool"), 0o755);
    writeFileSync(join(s.root, "secret.txt"), "secret");
  });
  after(() => s.cleanup());

  it("D6/D30: control and bidi characters in a path are escaped in the denial, and the check uses the normalised path", async () => {
    const c = await caps({ read: ["data/"] });
    const msg = await isDenied(c.call("fs.readTextFile", ["data/hello\u001b[/../../../etc/hosts"]));
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    assert.doesNotMatch(msg, /\u001b/, "no raw escape reaches a terminal");
    assert.match(msg, /\\u\{001b\}/);
    assert.match(msg, /requires read access to ".*\/etc\/hosts"/, "the value checked is the normalised one shown");
    const bidi = await isDenied(c.call("fs.readTextFile", ["/tmp/\u202etxt.exe"]));
    assert.doesNotMatch(bidi, /\u202e/);
    assert.equal(await c.call("fs.readTextFile", ["data/ok.txt"]), "ok");
  });

  it("D9: traversal in a secondary argument (exec cwd) is checked like a path", async () => {
    const c = await caps({ read: ["data/"], exec: ["pwd"] });
    await isDenied(c.call("exec", ["pwd", [], { cwd: "data/../../" }]), /requires read access/);
    assert.equal(((await c.call("exec", ["pwd", [], { cwd: "data/../data" }])) as { code: number }).code, 0);
  });

  it("D10: write: true does not reach /proc/self/mem", async () => {
    const c = await caps({ write: true });
    await isDenied(c.call("fs.writeTextFile", ["/proc/self/mem", "x"]), /paths under \/proc/);
    await isDenied(c.call("fs.readDir", ["/sys"]), /read access/);
  });

  it("D11: stat through the /proc/self/root magic link is judged by where it leads", async () => {
    const c = await caps({ read: ["/proc/self"] });
    await isDenied(c.call("fs.stat", ["/proc/self/root/etc/shadow"]), /\/etc\/shadow/);
    const st = (await c.call("fs.stat", ["/proc/self/status"])) as { isFile: boolean };
    assert.equal(st.isFile, true, "positive control: a granted /proc path");
  });

  it("D2: a plugin cannot create symlinks or hard links: there is no such operation", async () => {
    const c = await caps({ read: true, write: ["data/"] });
    for (const op of ["fs.symlink", "fs.link", "fs.rename", "fs.open", "fs.chmod"]) await assert.rejects(c.call(op, ["/", "data/root"]), { code: "BAD_INPUT" }, op);
  });

  it("D15: no bulk env read exists, and a prefix grant covers only its prefix", async () => {
    const c = await caps({ env: ["APP_*"] });
    await assert.rejects(c.call("env.toObject", []), { code: "BAD_INPUT" });
    await isDenied(c.call("env.get", ["AWS_SECRET_ACCESS_KEY"]));
  });

  it("D20: a program the plugin may exec cannot be overwritten or removed through a write grant", async () => {
    const c = await caps({ exec: [join(dir, "bin/tool")], write: ["bin/"], read: ["bin/"] });
    await isDenied(c.call("fs.writeTextFile", ["bin/tool", "#!/bin/sh\nid\n"]), /a plugin may not replace a command it can run/);
    await isDenied(c.call("fs.remove", ["bin/tool"]), /permissions\.exec\[0\]/);
    await c.call("fs.writeTextFile", ["bin/notes.txt", "fine"]);
    assert.equal(((await c.call("exec", [join(dir, "bin/tool")])) as { stdout: string }).stdout, "tool\n");
  });

  it("D23: an allow of [::ffff:10.0.0.1] matches 10.0.0.1, and the mapped form of a loopback is loopback", async () => {
    const rules = await caps({ net: ["[::ffff:10.0.0.1]"] });
    assert.equal(((await rules.call("permissions.query", [{ name: "net", host: "10.0.0.1" }])) as { state: string }).state, "granted");
    const t = await caps({ net: true });
    await isDenied(t.call("fetch", ["http://[::ffff:127.0.0.1]/"]), /loopback/);
  });

  it("D24: a wildcard DNS name that resolves into a private range is denied", async () => {
    const c = await caps({ net: ["*.nip.io"] }, { "127.0.0.1.nip.io": ["127.0.0.1"], "10.0.0.1.nip.io": ["10.0.0.1"] });
    await isDenied(c.call("fetch", ["http://127.0.0.1.nip.io/x.js"]), /permissions\.net allows 127\.0\.0\.1\.nip\.io:80, but it resolves to an address no rule allows/);
    await isDenied(c.call("fetch", ["http://10.0.0.1.nip.io/"]), /private/);
  });

  it("D25/N14: no Unix-socket or non-HTTP transport is reachable through fetch", async () => {
    const c = await caps({ net: true, read: true, write: true });
    for (const url of ["unix:///var/run/docker.sock", "http+unix://%2Fvar%2Frun%2Fdocker.sock/info", "ws://example.org/", "ftp://example.org/"]) {
      await assert.rejects(c.call("fetch", [url]), (e: Error & { code?: string }) => e.code === "BAD_INPUT" || e.code === "PERMISSION_DENIED", url);
    }
  });

  it("N3: a non-string path (bytes, object, array) is BAD_INPUT, never normalised into a grant", async () => {
    const c = await caps({ read: ["data/"] });
    for (const bad of [{ 0: 47, 1: 101 }, [47, 101, 116, 99], { toString: "/etc/passwd" }, 42, null]) {
      await assert.rejects(c.call("fs.readTextFile", [bad]), { code: "BAD_INPUT" }, JSON.stringify(bad));
    }
  });

  it("N7: a denied path is denied the same whether it exists or not (no existence oracle)", async () => {
    const c = await caps({ read: ["data/"] });
    const a = await isDenied(c.call("fs.stat", ["/etc/passwd"]));
    const b = await isDenied(c.call("fs.stat", ["/etc/does-not-exist-xyz"]));
    assert.equal(a.replace("passwd", "X"), b.replace("does-not-exist-xyz", "X"));
    assert.deepEqual(await c.call("permissions.query", [{ name: "read", path: "/etc/does-not-exist-xyz" }]), { state: "denied" });
  });

  it("N10: a relative symlink chain out of the grant is denied", async () => {
    mkdirSync(join(dir, "data/a/b"), { recursive: true });
    symlinkSync("../../../..", join(dir, "data/a/b/up"));
    const c = await caps({ read: ["data/"] });
    await isDenied(
      c.call("fs.readTextFile", ["data/a/b/up/secret.txt"]),
      /"data\/a\/b\/up\/secret\.txt"; a symbolic link on its way leads outside the plugin's directory and what permissions\.read covers \(where it leads is in the host's audit log\)/,
    );
    await isDenied(c.call("fs.readDir", ["data/a/b/up"]));
  });

  it("N11: a path grant has no wildcards: data/keys/*.pub covers only that literal name", async () => {
    const c = await caps({ read: ["data/keys/*.pub"] });
    await isDenied(c.call("fs.readTextFile", ["data/keys/id"]));
    await isDenied(c.call("fs.readTextFile", ["data/keys/id.pub"]));
    const exact = await caps({ read: ["data/keys/id.pub"] });
    assert.equal(await exact.call("fs.readTextFile", ["data/keys/id.pub"]), "public key");
  });

  it("O1: topics are matched exactly (case, no aliasing) against an allow-list", async () => {
    const c = await caps({ channels: { publish: ["chat.reply"] } });
    for (const t of ["Chat.reply", "chat.Reply", "chat.reply.x", "chat"]) await isDenied(c.call("channels.publish", [t, {}]));
  });
});
