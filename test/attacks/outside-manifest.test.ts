// The manifest and the plugin lifecycle, attacked by a plugin's author (outside review). The author
// ships plugin.json and every later version of it; the operator approves what `warden grants ls`
// and `diff` show, or what a reviewer reads in the file. Each attack has a positive control: the
// legitimate neighbour still loads, so a warden that refused everything would fail here too.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createHost, type Host } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { approveGrants, grantsDiff, listGrants } from "../../core/consent/grant-decisions.ts";
import { readApprovals, writeApprovals } from "../../core/consent/approvals-file.ts";
import { readManifest } from "../../manifests/read-manifest.ts";
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
