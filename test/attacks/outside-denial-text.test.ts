// What a denial tells the plugin. A package may ship a link inside its grant that points out
// (`data/root -> /`); following it is denied, but a denial that named where the path led would
// still map the host for the plugin: /proc/self/cwd is the host's working directory, /proc/self/fd
// its open files and pid, /proc/self/exe its node. Likewise a granted name that resolves to a
// refused address: the denial must not be a DNS oracle of the host's internal network. The
// operator's audit record keeps all of it. Real runtime (loadPlugin), as the plugin sees it.
import assert from "node:assert/strict";
import { mkdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createCapabilities, type AuditEvent } from "../../capabilities/index.ts";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { fixedDns, nodePorts, TEST_LIMITS } from "../helpers/ports.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");
const CODE = `export async function probe(paths) {
  const out = {};
  for (const p of paths) { try { out[p] = await Warden.fs.readTextFile(p); } catch (e) { out[p] = e.code + " " + e.message; } }
  return out;
}`;

describe("outside: denials tell the plugin nothing of where a link led outside its grants", () => {
  let s: Scratch;
  let p: PluginHandle;
  let audit: ReturnType<typeof memoryAuditLog>;
  before(async () => {
    s = scratch();
    const dir = s.plugin(
      "prober",
      manifest("t.prober", { permissions: { read: ["data/"] } }),
      { "index.js": CODE, "data/in/ok.txt": "inside", "notes.txt": "the plugin's own" },
      {
        "data/root": "/",
        "data/up": "..",
        "data/link-in": "in",
      },
    );
    audit = memoryAuditLog();
    p = await loadPlugin(dir, { audit, logger });
  });
  after(async () => {
    await p.close();
    s.cleanup();
  });

  it("probes through a link to / learn neither the host's working directory, open files, pid, program nor which paths exist; the audit log has each", async () => {
    const probes = [
      "data/root/proc/self/cwd/x",
      "data/root/proc/self/fd/3/x",
      "data/root/proc/self/fd/0",
      "data/root/proc/self/exe",
      "data/root/etc/passwd/x",
      "data/root/etc/nothere/x",
      "data/root/proc/self/root/etc/hostname",
    ];
    const out = (await p.invoke("probe", probes)) as Record<string, string>;
    const texts = Object.values(out);
    for (const [probe, text] of Object.entries(out)) {
      assert.match(text, /^PERMISSION_DENIED /, probe);
      assert.match(text, /a symbolic link on its way leads outside the plugin's directory and what permissions\.read covers/, probe);
      assert.ok(!text.includes(process.cwd()), `${probe}: the host's working directory is not told: ${text}`);
      assert.ok(!/\/proc\/\d+|anon_inode|socket:|pipe:|\/usr\/|\/bin\/|node/.test(text.replace(/"data\/root\/[^"]*"/, "")), `${probe}: nothing of where it led: ${text}`);
    }
    // Existing and missing targets read alike (no oracle), once the probe's own text is set aside.
    const shape = (t: string): string => t.replace(/"data\/root\/[^"]*"/, "PROBE");
    assert.equal(shape(out["data/root/etc/passwd/x"] ?? ""), shape(out["data/root/etc/nothere/x"] ?? ""));
    assert.equal(new Set(texts.map(shape)).size, 1);
    const denials = audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e["type"] === "deny" && e["permission"] === "read");
    assert.ok(
      denials.some((e) => e["value"] === "data/root/proc/self/exe" && e["resolved"] === realpathSync(process.execPath)),
      "the operator's record says where it led",
    );
  });

  it("positive controls: a link inside the grant reads; a link that stays inside the plugin's own directory is still named in the denial", async () => {
    const out = (await p.invoke("probe", ["data/link-in/ok.txt", "data/up/notes.txt"])) as Record<string, string>;
    assert.equal(out["data/link-in/ok.txt"], "inside");
    assert.match(
      out["data/up/notes.txt"] ?? "",
      /^PERMISSION_DENIED .*requires read access to ".*prober\/notes\.txt" \(resolved from "data\/up\/notes\.txt"\); no rule in permissions\.read covers it/,
    );
  });
});

describe("outside: a granted name that resolves to a refused address is not a DNS oracle", () => {
  it("the plugin is told the name resolves to an address no rule allows, never which; the audit record has it (control: a name resolving to an allowed address is fetched through the check)", async () => {
    const s = scratch();
    try {
      const dir = join(s.root, "p");
      mkdirSync(dir);
      const events: AuditEvent[] = [];
      const ports = nodePorts({ dns: fixedDns({ "db.internal.test": ["10.0.3.7"], "meta.internal.test": ["169.254.169.254"], "mixed.internal.test": ["93.184.216.34", "192.168.1.20"] }) });
      const caps = await createCapabilities({ pluginId: "t.dns", pluginDir: dir, grants: { net: true }, ports, audit: { record: (e) => events.push(e) }, limits: TEST_LIMITS });
      for (const [name, address] of [
        ["db.internal.test", "10.0.3.7"],
        ["meta.internal.test", "169.254.169.254"],
        ["mixed.internal.test", "192.168.1.20"],
      ] as const) {
        await assert.rejects(caps.call("fetch", [`http://${name}/`]), (e: Error & { code?: string }) => {
          assert.equal(e.code, "PERMISSION_DENIED", e.message);
          assert.match(e.message, new RegExp(`permissions\\.net allows ${name.replace(/\./g, "\\.")}:80, but it resolves to an address no rule allows`));
          assert.ok(!e.message.includes(address) && !/private|linkLocal|loopback address\b/.test(e.message.replace("a loopback, private or other non-public address", "")), e.message);
          return true;
        });
        const rec = events.filter((r) => r.type === "deny").at(-1);
        assert.equal(rec?.resolved, `${address}:80`, "the audit record names the address");
      }
      // Control: a literal address the plugin wrote itself is its own input, named as before.
      await assert.rejects(caps.call("fetch", ["http://10.0.3.7/"]), /10\.0\.3\.7/);
    } finally {
      s.cleanup();
    }
  });
});
