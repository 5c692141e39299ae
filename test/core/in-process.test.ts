// isolation: "in-process": the same runner behind the same protocol, without the process hop.
// Capabilities, limits, channels and unload behave as with a sandbox process.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { ChannelBus } from "../../core/channels/bus.ts";
import { createHost } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");

describe("in-process isolation", () => {
  let s: Scratch;
  let p: PluginHandle;
  const audit = memoryAuditLog();
  const bus = new ChannelBus();

  before(async () => {
    s = scratch();
    const dir = s.plugin("inproc", manifest("test.inproc", { permissions: { read: ["data/"], channels: { publish: ["ip.out"], subscribe: ["ip.in"] } }, limits: { cpuMs: 100 } }), {
      "index.js": `export async function onLoad() { await Warden.channels.subscribe("ip.in", (m) => Warden.channels.publish("ip.out", { got: m.data })); }
export const read = () => Warden.fs.readTextFile("data/x.txt");
export async function denied() { try { await Warden.fs.readTextFile("/etc/passwd"); return "read"; } catch (e) { return e.code; } }
export function spin() { for (;;) {} }
export const where = () => [typeof process, typeof require];`,
      "data/x.txt": "in-process data",
    });
    p = await loadPlugin(dir, { audit, logger, bus, isolation: "in-process", quarantine: { maxFailures: 100 } });
  });
  after(async () => {
    await p.close();
    s.cleanup();
  });

  it("runs in the host's process (no sandbox pid) with the same confinement and capabilities", async () => {
    assert.equal(p.sandboxPid, undefined);
    assert.deepEqual(await p.invoke("where"), ["undefined", "undefined"]);
    assert.equal(await p.invoke("read"), "in-process data");
    assert.equal(await p.invoke("denied"), "PERMISSION_DENIED");
    assert.ok(audit.lines.some((l) => l.includes('"type":"deny"') && l.includes("/etc/passwd")));
  });

  it("a CPU limit condemns the isolate, the host goes on, and the next call gets a fresh isolate", async () => {
    await assert.rejects(p.invoke("spin"), { code: "CPU_LIMIT", message: /spin\(\) used more than cpuMs/ });
    assert.equal(await p.invoke("read"), "in-process data");
  });

  it("channels work through the bus", async () => {
    const got = new Promise((resolve) => bus.subscribe("ip.out", (m) => resolve(m)));
    bus.publish("ip.in", { n: 1 });
    assert.deepEqual(await got, { topic: "ip.out", from: "test.inproc", dropped: 0, data: { got: { n: 1 } } });
  });

  it("limit hits reach the host as events and quarantine the plugin, as with a sandbox process", async () => {
    const s3 = scratch();
    const dir = s3.plugin("q", manifest("test.q", { limits: { cpuMs: 50 } }), { "index.js": "export function spin() { for (;;) {} } export const ok = () => 'ok';" });
    const events: string[] = [];
    const q = await loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation: "in-process", quarantine: { maxFailures: 2 }, onEvent: (e) => void events.push(e.type) });
    try {
      for (let i = 0; i < 2; i++) await assert.rejects(q.invoke("spin"), { code: "CPU_LIMIT", message: /spin\(\) used more than cpuMs/ });
      await assert.rejects(q.invoke("ok"), { code: "QUARANTINED", message: /quarantined until/ });
      assert.deepEqual(
        events.filter((t) => t !== "invoke"),
        ["limit", "restarting", "restarted", "limit", "quarantine"],
      );
    } finally {
      await q.close();
      s3.cleanup();
    }
  });

  it("createHost accepts isolation: in-process", async () => {
    const s2 = scratch();
    s2.plugin("a", manifest("test.a"), { "index.js": "export const x = () => 'a';" });
    const host = await createHost({ pluginsDir: s2.root, logger, isolation: "in-process", healthIntervalMs: 0 });
    try {
      await host.loadAll();
      assert.equal(await host.invoke("test.a", "x"), "a");
    } finally {
      await host.close();
      s2.cleanup();
    }
  });
});
