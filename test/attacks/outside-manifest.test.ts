// The manifest and the plugin lifecycle, attacked by a plugin's author (outside review). The author
// ships plugin.json and every later version of it; the operator approves what `warden grants ls`
// and `diff` show, or what a reviewer reads in the file. Each attack has a positive control: the
// legitimate neighbour still loads, so a warden that refused everything would fail here too.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createHost, type Host } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { approveGrants, grantsDiff, listGrants } from "../../core/consent/grant-decisions.ts";
import { readApprovals, writeApprovals } from "../../core/consent/approvals-file.ts";
import { readManifest } from "../../manifests/read-manifest.ts";
import { canonicalAddress, ConsentGate, createCapabilities, specialRange, type AuditEvent, type FsPort } from "../../capabilities/index.ts";
import { describeGrants } from "../../manifests/grant-table.ts";
import { permissionGrowth } from "../../manifests/permission-diff.ts";
import { netMeaning } from "../../manifests/net-meaning.ts";
import type { Manifest } from "../../manifests/schema.ts";
import { isWardenError } from "../../errors/index.ts";
import { nodePorts, TEST_LIMITS } from "../helpers/ports.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const BASE = '"id": "acme.dup", "name": "dup", "version": "1.0.0", "engines": { "warden": ">=0.1.0 <1.0.0" }';

/** Write plugin.json as exact text (JSON.stringify cannot write a duplicate key). */
function rawPlugin(s: Scratch, name: string, text: string | Buffer): string {
  const dir = s.plugin(name, {}, { "index.js": "export const hello = () => 'hi';", "data/a.txt": "a" });
  writeFileSync(join(dir, "plugin.json"), text);
  return dir;
}

const invalid = (field: RegExp) => (e: Error & { code?: string }) => {
  assert.equal(e.code, "MANIFEST_INVALID", e.message);
  assert.match(e.message, field);
  return true;
};

describe("plugin.json text that a reviewer reads one way and warden another", () => {
  let s: Scratch;
  before(() => {
    s = scratch();
  });
  after(() => s.cleanup());

  it("a duplicate key (JSON.parse keeps the last: a reviewer reads the first) is refused, naming it, in any object and any spelling", async () => {
    const cases: Array<[string, RegExp]> = [
      [`{ ${BASE}, "permissions": { "read": ["data/"], "read": true } }`, /permissions\.read: duplicate key "read"/],
      [`{ ${BASE}, "permissions": { "read": ["data/"], "r\\u0065ad": ["/"] } }`, /permissions\.read: duplicate key "read"/],
      [`{ ${BASE}, "id": "acme.other" }`, /\bid: duplicate key "id"/],
      [`{ ${BASE}, "limits": { "memoryMb": 64, "memoryMb": 4096 } }`, /limits\.memoryMb: duplicate key "memoryMb"/],
      [`{ ${BASE}, "permissions": { "channels": { "publish": ["a"], "publish": true } } }`, /permissions\.channels\.publish: duplicate key/],
      [`{ ${BASE}, "config": { "type": "object", "properties": { "k": { "type": "string", "type": "number" } } } }`, /config\.properties\.k\.type: duplicate key/],
      [`{ ${BASE}, "entries": { "hello": {}, "hello": { "timeoutMs": 3600000 } } }`, /entries\.hello: duplicate key/],
      // Behind 100 000 levels of nesting (the scan keeps its own stack, linear in the text).
      [`{ ${BASE}, "config": { "default": ${"[".repeat(100_000)}${"]".repeat(100_000)}, "type": "object", "type": "array" } }`, /config\.type: duplicate key/],
    ];
    for (const [i, [text, field]] of cases.entries()) {
      await assert.rejects(readManifest(rawPlugin(s, `dup${i}`, text), "0.1.0"), invalid(field), text);
    }
  });

  it("positive control: the same key in different objects, and a key that only looks alike, load", async () => {
    const text = `{ ${BASE}, "permissions": { "read": ["data/"] }, "entries": { "read": { "input": { "type": "object", "properties": { "read": { "type": "string" }, "Read": {} } } } } }`;
    const l = await readManifest(rawPlugin(s, "same-key", text), "0.1.0");
    assert.deepEqual(l.manifest.permissions, { read: ["data/"] });
    assert.ok(l.manifest.entries?.["read"]?.input !== undefined);
  });

  it("a `__proto__` key, which zod drops without a word (an entry's schema, a dependency, a config property vanished), is refused wherever it is", async () => {
    const cases: Array<[string, RegExp]> = [
      [`{ ${BASE}, "entries": { "__proto__": { "timeoutMs": 3600000 } } }`, /entries\.__proto__: the key "__proto__"/],
      [`{ ${BASE}, "dependencies": { "__proto__": "^1.0.0" } }`, /dependencies\.__proto__: the key "__proto__"/],
      [`{ ${BASE}, "config": { "__proto__": { "type": "string" } } }`, /config\.__proto__: the key "__proto__"/],
      [`{ ${BASE}, "config": { "type": "object", "properties": { "__pr\\u006fto__": { "type": "string" } } } }`, /config\.properties\.__proto__: the key "__proto__"/],
      [`{ ${BASE}, "__proto__": { "permissions": { "read": true } } }`, /__proto__: the key "__proto__"/],
    ];
    for (const [i, [text, field]] of cases.entries()) {
      await assert.rejects(readManifest(rawPlugin(s, `proto${i}`, text), "0.1.0"), invalid(field), text);
    }
    assert.equal(({} as Record<string, unknown>)["read"], undefined, "and nothing reached Object.prototype");
  });

  it("positive control: `constructor` and `prototype` are ordinary keys, kept as written", async () => {
    const text = `{ ${BASE}, "entries": { "constructor": { "timeoutMs": 100 } }, "config": { "type": "object", "properties": { "prototype": { "type": "string" } } } }`;
    const l = await readManifest(rawPlugin(s, "ctor", text), "0.1.0");
    assert.equal(l.manifest.entries?.["constructor"]?.timeoutMs, 100);
    assert.ok(Object.hasOwn(l.manifest.entries ?? {}, "constructor"));
  });

  it("bytes that are not UTF-8 (each shown and used as U+FFFD) and a byte-order mark are refused, saying which", async () => {
    const bad = Buffer.concat([Buffer.from(`{ ${BASE}, "permissions": { "read": ["data/`), Buffer.from([0xff, 0xfe]), Buffer.from('"] } }')]);
    await assert.rejects(readManifest(rawPlugin(s, "latin1", bad), "0.1.0"), invalid(/plugin\.json is not UTF-8 \(byte 1\d\d\)/));
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`{ ${BASE} }`)]);
    await assert.rejects(readManifest(rawPlugin(s, "bom", bom), "0.1.0"), invalid(/byte-order mark/));
    // Positive control: UTF-8 beyond ASCII, written or escaped, is fine.
    const l = await readManifest(rawPlugin(s, "utf8", `{ ${BASE}, "description": "Café \\u00e9t\u00e9 ☕" }`), "0.1.0");
    assert.equal(l.manifest.description, "Café été ☕");
  });
});

describe("an update that raises its limits (approvals required)", () => {
  let s: Scratch;
  let host: Host | undefined;
  const CODE = "export const hello = () => 'hi'; export const slow = () => 'slow';";
  const write = (version: string, extra: object = {}) => s.plugin("lim", manifest("acme.lim", { version, permissions: { read: ["data/"] }, ...extra }), { "index.js": CODE, "data/a.txt": "a" });
  const start = async () => {
    host = await createHost({ pluginsDir: s.root, approvals: "required", logger: createDefaultLogger("silent"), healthIntervalMs: 0 });
    await host.loadAll();
    return host;
  };
  const stop = async () => {
    await host?.close();
    host = undefined;
  };
  const status = () => host?.status().find((p) => p.id === "acme.lim");

  before(() => {
    s = scratch();
  });
  after(async () => {
    await stop();
    s.cleanup();
  });

  it("a plugin never approved shows the limits it asks for above the defaults among what the operator approves", async () => {
    write("0.9.0", { limits: { memoryMb: 256, cpuMs: 1000 } });
    const listed = (await listGrants(s.root)).plugins.find((p) => p.id === "acme.lim");
    assert.equal(listed?.state, "pending");
    assert.deepEqual(listed?.growth, ['permissions.read[0] "data/" is new', "limits.memoryMb 64 → 256"]);
  });

  it("positive control: the approved version loads with the limits it declared", async () => {
    write("1.0.0", { limits: { memoryMb: 64, cpuMs: 1000 } });
    await approveGrants({ pluginsDir: s.root, id: "acme.lim" });
    await start();
    assert.equal(status()?.state, "active", status()?.reason ?? "");
    assert.equal(status()?.limits?.memoryMb, 64);
    await stop();
  });

  it("raised while the host is down, they wait for the operator at the next start, named field by field", async () => {
    write("1.1.0", { limits: { memoryMb: 2048, cpuMs: 20_000, cpuMsPerMinute: 3_600_000 }, entries: { slow: { timeoutMs: 3_600_000 } } });
    await start();
    assert.equal(status()?.state, "pending", status()?.reason ?? "");
    assert.match(
      status()?.reason ?? "",
      /limits grew since the approval of 1\.0\.0: limits\.memoryMb 64 → 2048; limits\.cpuMs 1000 → 20000; limits\.cpuMsPerMinute 10000 → 3600000; entries\.slow\.timeoutMs 5000 → 3600000/,
    );
    await assert.rejects(host!.invoke("acme.lim", "hello"), /pending/);
    const listed = (await listGrants(s.root)).plugins.find((p) => p.id === "acme.lim");
    assert.equal(listed?.state, "pending");
    assert.ok(listed?.growth.includes("limits.memoryMb 64 → 2048"), JSON.stringify(listed?.growth));
    assert.ok((await grantsDiff(s.root, "acme.lim")).grew.includes("limits.memoryMb 64 → 2048"));
  });

  it("approved, the raised limits run (still capped by the host's maxLimits)", async () => {
    await host!.approve("acme.lim");
    assert.equal(status()?.state, "active", status()?.reason ?? "");
    assert.equal(status()?.limits?.memoryMb, 512, "the host's built-in maxLimits.memoryMb caps the approved 2048");
    assert.equal(status()?.limits?.cpuMs, 20_000);
    const a = (await readApprovals(s.root)).plugins["acme.lim"];
    assert.deepEqual(a?.limits, { memoryMb: 2048, cpuMs: 20_000, cpuMsPerMinute: 3_600_000 });
    assert.deepEqual(a?.entryTimeouts, { slow: 3_600_000 });
  });

  it("an operator's unload and reload is not a way around it either", async () => {
    write("1.2.0", { limits: { memoryMb: 4096, cpuMs: 20_000, cpuMsPerMinute: 3_600_000 }, entries: { slow: { timeoutMs: 3_600_000 } } });
    await host!.unload("acme.lim");
    await assert.rejects(host!.reload("acme.lim"), (e: Error & { code?: string }) => {
      assert.equal(e.code, "APPROVAL_REQUIRED", e.message);
      assert.match(e.message, /limits grew since the approval of 1\.1\.0: limits\.memoryMb 2048 → 4096/);
      return true;
    });
    assert.notEqual(status()?.state, "active");
  });

  it("positive control: lower limits load without asking, and the approval narrows to them", async () => {
    write("1.3.0", { limits: { memoryMb: 32 } });
    await host!.reload("acme.lim");
    assert.equal(status()?.state, "active", status()?.reason ?? "");
    assert.equal(status()?.version, "1.3.0");
    const a = (await readApprovals(s.root)).plugins["acme.lim"];
    assert.equal(a?.version, "1.3.0");
    assert.deepEqual(a?.limits, { memoryMb: 32 });
    assert.deepEqual(a?.entryTimeouts, {});
  });

  it("an approval written before approvals carried limits covers exactly the manifest it was pinned to", async () => {
    await stop();
    write("1.4.0", { limits: { memoryMb: 256 } });
    await approveGrants({ pluginsDir: s.root, id: "acme.lim" });
    const approvals = await readApprovals(s.root);
    const { limits: _l, entryTimeouts: _t, ...legacy } = approvals.plugins["acme.lim"]!;
    await writeApprovals(s.root, { ...approvals, plugins: { ...approvals.plugins, "acme.lim": legacy } });
    await start();
    assert.equal(status()?.state, "active", status()?.reason ?? "");
    assert.equal(status()?.limits?.memoryMb, 256);
    await stop();
    write("1.5.0", { limits: { memoryMb: 512 } });
    await start();
    assert.equal(status()?.state, "pending");
    assert.match(status()?.reason ?? "", /limits\.memoryMb 64 → 512/);
  });
});

describe("a capability call whose approval is revoked between its check and its effect", () => {
  /**
   * A bridge over the real ports whose fs port holds every call to `openParent` (the step after the
   * path check, before anything is opened for writing, created or removed), every `realpath` of
   * the exec's working directory and every DNS answer until released: the plugin's call is then in
   * flight, checked (or being checked) and not done.
   */
  async function bridge() {
    const s = scratch();
    const dir = s.plugin("p", {}, { "data/old.txt": "old", "data/gone/x.txt": "x" });
    mkdirSync(join(dir, "cwd"));
    const gate = new ConsentGate({ pluginId: "t.racer", terms: { expiresAt: null, quotas: {} }, now: () => Date.now() });
    const audit: AuditEvent[] = [];
    let holding = false;
    let sent = 0;
    let release = (): void => undefined;
    let reached = (): void => undefined;
    const arrived = () => new Promise<void>((r) => (reached = r));
    const held = () => {
      if (!holding) return Promise.resolve();
      reached();
      return new Promise<void>((r) => (release = r));
    };
    const real = nodePorts().fs;
    const fs: FsPort = {
      ...real,
      openParent: async (p) => (await held(), real.openParent(p)),
      realpath: async (p) => (p === join(dir, "cwd") ? await held() : undefined, real.realpath(p)),
    };
    const caps = await createCapabilities({
      pluginId: "t.racer",
      pluginDir: dir,
      grants: { write: ["data/"], read: ["cwd/"], exec: ["touch"], net: ["example.test"] },
      ports: nodePorts({
        fs,
        dns: { lookup: async () => (await held(), [{ address: "93.184.216.34", family: 4 }]) },
        http: {
          request: async () => {
            sent++;
            return { status: 200, statusText: "OK", headers: [], body: new Uint8Array(0) };
          },
        },
      }),
      audit: { record: (e) => audit.push(e) },
      limits: TEST_LIMITS,
      consent: gate,
    });
    /** Start `op`, revoke while it is held, then let the port go on. */
    const revokedMidway = async (op: string, args: unknown[]) => {
      // Approved again (setTerms lifts a revocation), so that the call is admitted and held.
      gate.setTerms({ expiresAt: null, quotas: {} });
      holding = true;
      const at = arrived();
      const call = caps.call(op, args);
      call.catch(() => undefined);
      // A call that settles without reaching a held port would leave `at` pending forever.
      await Promise.race([
        at,
        call.then(
          (v) => assert.fail(`${op} settled with ${JSON.stringify(v)} before reaching the port`),
          (e: Error) => assert.fail(`${op} failed before reaching the port: ${e.message}`),
        ),
      ]);
      gate.revoke("the operator pulled the plug");
      const revokedAt = audit.length;
      release();
      holding = false;
      await assert.rejects(call, (e: unknown) => isWardenError(e) && e.code === "PERMISSION_DENIED" && /approval revoked: "the operator pulled the plug" while the call was in flight/.test(e.message));
      // Let the handler, which the denial did not wait for, run to its end.
      await new Promise((r) => setTimeout(r, 50));
      return { after: audit.slice(revokedAt) };
    };
    /** What the calls would change on disk. */
    const state = () => ({
      old: readFileSync(join(dir, "data/old.txt"), "utf8"),
      created: existsSync(join(dir, "data/new.txt")),
      made: existsSync(join(dir, "data/made")),
      removed: !existsSync(join(dir, "data/gone/x.txt")),
      touched: existsSync(join(dir, "data/touched")),
      sent,
    });
    return { dir, caps, gate, revokedMidway, state, cleanup: () => s.cleanup() };
  }

  it("a write, a new file, a mkdir, a remove, a command and a request change nothing once the revoke is in force", async () => {
    const b = await bridge();
    try {
      await b.revokedMidway("fs.writeTextFile", ["data/old.txt", "new"]);
      await b.revokedMidway("fs.writeTextFile", ["data/new.txt", "new"]);
      await b.revokedMidway("fs.mkdir", ["data/made"]);
      await b.revokedMidway("fs.remove", ["data/gone", { recursive: true }]);
      await b.revokedMidway("exec", ["touch", [join(b.dir, "data", "touched")], { cwd: "cwd" }]);
      await b.revokedMidway("fetch", ["http://example.test/", { method: "POST", body: { text: "the secret" } }]);
      assert.deepEqual(b.state(), { old: "old", created: false, made: false, removed: false, touched: false, sent: 0 }, "nothing changed on disk after the revoke");
    } finally {
      b.cleanup();
    }
  });

  it("positive control: the same calls, not revoked, take effect through the same held ports", async () => {
    const b = await bridge();
    try {
      await b.caps.call("fs.writeTextFile", ["data/old.txt", "new"]);
      await b.caps.call("fs.mkdir", ["data/made"]);
      await b.caps.call("fs.remove", ["data/gone", { recursive: true }]);
      await b.caps.call("exec", ["touch", [join(b.dir, "data", "touched")], { cwd: "cwd" }]);
      await b.caps.call("fs.writeTextFile", ["data/new.txt", "new"]);
      await b.caps.call("fetch", ["http://example.test/", { method: "POST", body: { text: "the secret" } }]);
      assert.deepEqual(b.state(), { old: "new", created: true, made: true, removed: true, touched: true, sent: 1 });
    } finally {
      b.cleanup();
    }
  });
});

describe("a net grant that reads as less than the bridge makes of it", () => {
  const m = (net: string[]): Manifest => ({ id: "acme.net", name: "net", version: "1.0.0", permissions: { net } });
  const shown = (rule: string) => ({
    covers: describeGrants(m([rule]), "/srv/plugins/net")[0]?.covers ?? "",
    growth: permissionGrowth(m([]), m([rule]), { dir: "/srv/plugins/net" })[0] ?? "",
  });

  it("IPv4-mapped spellings of loopback and the metadata address, and a name in capitals or with a final dot, are shown as what they reach", () => {
    const cases: Array<[string, RegExp, RegExp]> = [
      ["[::ffff:7f00:1]", /^the address 127\.0\.0\.1 on any port \(a loopback address\) \(written \[::ffff:7f00:1\]\)$/, /\(that is "127\.0\.0\.1"\) is new$/],
      ["[::ffff:169.254.169.254]:80", /^the address 169\.254\.169\.254 on port 80 \(a linkLocal address\)/, /\(that is "169\.254\.169\.254:80"\)/],
      ["[0:0:0:0:0:ffff:a9fe:a9fe]", /^the address 169\.254\.169\.254 on any port \(a linkLocal address\)/, /\(that is "169\.254\.169\.254"\)/],
      ["[::ffff:a00:0]/104", /^every address in 10\.0\.0\.0\/8 \(a private range\)/, /\(that is "10\.0\.0\.0\/8"\)/],
      ["LOCALHOST.", /^localhost on any port \(including the loopback addresses it resolves to\) \(written LOCALHOST\.\)$/, /\(that is "localhost"\)/],
      ["*.Example.ORG.:443", /^example\.org and all its subdomains, on port 443 \(written/, /\(that is "\*\.example\.org:443"\)/],
    ];
    for (const [rule, covers, growth] of cases) {
      const s = shown(rule);
      assert.match(s.covers, covers, rule);
      assert.match(s.growth, growth, rule);
    }
  });

  it("the meaning shown is the bridge's own reading of the address (the manifest layer keeps a copy of it)", () => {
    for (const host of [
      "[::ffff:7f00:1]",
      "[::ffff:127.0.0.1]",
      "[::7f00:1]",
      "[::1]",
      "[64:ff9b::7f00:1]",
      "[2002:7f00:1::]",
      "[fe80::1%eth0]",
      "[::ffff:0:7f00:1]",
      "127.0.0.1",
      "169.254.169.254",
      "8.8.8.8",
      "[2001:db8::1]",
    ]) {
      const bridge = canonicalAddress(host);
      assert.ok(bridge !== null, host);
      const mine = netMeaning(host);
      assert.equal(mine.address, bridge.kind() === "ipv6" ? `[${bridge.toString()}]` : bridge.toString(), host);
      assert.equal(mine.range, specialRange(bridge), host);
    }
  });

  it("positive control: a grant already in canonical form is shown as written, with nothing added", () => {
    assert.equal(shown("api.example.org:443").covers, "api.example.org on port 443");
    assert.equal(shown("api.example.org:443").growth, 'permissions.net[0] "api.example.org:443" is new');
    assert.equal(shown("127.0.0.1:8080").covers, "the address 127.0.0.1 on port 8080 (a loopback address)");
    assert.equal(shown("10.0.0.0/8").covers, "every address in 10.0.0.0/8 (a private range)");
    assert.equal(shown("[::1]").covers, "the address [::1] on any port (a loopback address)");
  });
});
