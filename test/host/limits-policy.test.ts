// The host's policy caps what a manifest asks for: a plugin.json asking for an hour of timeoutMs,
// 16 MiB messages or a gigabyte heap runs under the host's maxima (clamped, logged, audited), and
// a host's own defaults above its maxima are refused. Each attack next to the legitimate
// neighbour that must keep working. (The bus flood these limits feed is in floods.test.ts.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createHost } from "../../core/host/host.ts";
import { DEFAULT_MAX_LIMITS } from "../../core/limits.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin } from "../../core/plugin.ts";
import { manifest, scratch } from "../helpers/plugin-dir.ts";
import { captureLogger } from "../helpers/capture-logger.ts";

const silent = createDefaultLogger("silent");

type Coded = Error & { code?: string };

const sleeper = `
export async function wait(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; }
export async function slow(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; }
`;

describe("the host's maxima cap the manifest", () => {
  it("an hour of timeoutMs (limits and an entry's own) runs under the host's cap: status shows it, a longer call times out, the clamp is logged and in the grant record (positive control: a call within the cap, and a modest manifest, are untouched)", async () => {
    const s = scratch();
    s.plugin("greedy", manifest("t.greedy", { limits: { timeoutMs: 3_600_000 }, entries: { slow: { timeoutMs: 3_600_000 } } }), { "index.js": sleeper });
    s.plugin("modest", manifest("t.modest", { limits: { timeoutMs: 400 } }), { "index.js": sleeper });
    const audit = memoryAuditLog();
    const logs = captureLogger();
    const host = await createHost({ pluginsDir: s.root, logger: logs.logger, auditLog: audit, healthIntervalMs: 0, maxLimits: { timeoutMs: 500 } });
    try {
      await host.loadAll();
      const greedy = host.status().find((p) => p.id === "t.greedy");
      assert.equal(greedy?.limits?.timeoutMs, 500);
      assert.deepEqual(greedy?.limitsClamped, [
        { field: "limits.timeoutMs", asked: 3_600_000, allowed: 500 },
        { field: "entries.slow.timeoutMs", asked: 3_600_000, allowed: 500 },
      ]);
      assert.equal(await host.invoke("t.greedy", "wait", 50), 50, "positive control: within the cap");
      await assert.rejects(host.invoke("t.greedy", "wait", 1500), (e: Coded) => e.code === "TIMEOUT" && /timeoutMs \(500 ms\)/.test(e.message));
      await assert.rejects(host.invoke("t.greedy", "slow", 1500), (e: Coded) => e.code === "TIMEOUT" && /timeoutMs \(500 ms\)/.test(e.message));
      const warned = logs.lines.filter((l) => l["level"] === 40 && l["field"] !== undefined);
      assert.deepEqual(
        warned.map((l) => [l["plugin"], l["field"], l["asked"], l["allowed"]]),
        [
          ["t.greedy", "limits.timeoutMs", 3_600_000, 500],
          ["t.greedy", "entries.slow.timeoutMs", 3_600_000, 500],
        ],
      );
      assert.match(String(warned[0]?.["msg"]), /plugin t\.greedy: plugin\.json limits\.timeoutMs asks for 3600000, more than this host allows \(500\); it runs with 500/);
      const grants = audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r["type"] === "grant");
      const greedyGrant = grants.find((r) => r["plugin"] === "t.greedy");
      assert.deepEqual((greedyGrant?.["limits"] as { timeoutMs: number }).timeoutMs, 500);
      assert.deepEqual(greedyGrant?.["limitsClamped"], greedy?.limitsClamped);
      const modest = host.status().find((p) => p.id === "t.modest");
      assert.equal(modest?.limits?.timeoutMs, 400);
      assert.deepEqual(modest?.limitsClamped, []);
      assert.equal(grants.find((r) => r["plugin"] === "t.modest")?.["limitsClamped"], undefined);
    } finally {
      await host.close();
      s.cleanup();
    }
  });

  it("every limit a manifest can ask for is capped by the built-in maxima when the host sets none (loadPlugin, as `warden run` uses it); values within them are kept", async () => {
    const s = scratch();
    const schemaMaxima = {
      memoryMb: 4096,
      cpuMs: 600_000,
      timeoutMs: 3_600_000,
      cpuMsPerMinute: 3_600_000,
      readBytes: 1024 ** 3,
      netBytes: 1024 ** 3,
      execOutputBytes: 256 * 1024 ** 2,
      messageBytes: 16 * 1024 ** 2,
    };
    const within = { memoryMb: 96, cpuMs: 2000, timeoutMs: 7000, cpuMsPerMinute: 20_000, readBytes: 1000, netBytes: 2000, execOutputBytes: 3000, messageBytes: 4000 };
    const greedy = await loadPlugin(s.plugin("greedy", manifest("t.greedy", { limits: schemaMaxima }), { "index.js": "export const ok = () => 'ok';" }), { audit: memoryAuditLog(), logger: silent });
    const modest = await loadPlugin(s.plugin("modest", manifest("t.modest", { limits: within }), { "index.js": "export const ok = () => 'ok';" }), { audit: memoryAuditLog(), logger: silent });
    try {
      for (const [field, max] of Object.entries(DEFAULT_MAX_LIMITS)) {
        assert.equal(greedy.limits[field as keyof typeof DEFAULT_MAX_LIMITS], max, field);
        assert.equal(modest.limits[field as keyof typeof within], within[field as keyof typeof within], `positive control: ${field}`);
      }
      assert.deepEqual(
        greedy.limitsClamped.map((c) => c.field).sort(),
        Object.keys(schemaMaxima)
          .map((f) => `limits.${f}`)
          .sort(),
      );
      assert.deepEqual(modest.limitsClamped, []);
      assert.equal(await greedy.invoke("ok"), "ok", "clamped, it runs");
    } finally {
      await greedy.close();
      await modest.close();
      s.cleanup();
    }
  });

  it("a host's defaults above its maxima are refused at createHost (and loadPlugin) with BAD_INPUT naming the field (positive control: defaults within them, and a built-in default above a lower maximum follows the maximum)", async () => {
    const s = scratch();
    s.plugin("plain", manifest("t.plain"), { "index.js": "export const ok = () => 'ok';" });
    const refused = async (o: Parameters<typeof createHost>[0], field: RegExp) => assert.rejects(createHost(o), (e: Coded) => e.code === "BAD_INPUT" && field.test(e.message));
    try {
      await refused({ pluginsDir: s.root, logger: silent, defaults: { limits: { memoryMb: 1024 } } }, /defaults\.limits\.memoryMb \(1024\) is above maxLimits\.memoryMb \(512, the built-in maximum\)/);
      await refused(
        { pluginsDir: s.root, logger: silent, defaults: { limits: { timeoutMs: 2000 } }, maxLimits: { timeoutMs: 1000 } },
        /defaults\.limits\.timeoutMs \(2000\) is above maxLimits\.timeoutMs \(1000\)/,
      );
      await refused({ pluginsDir: s.root, logger: silent, maxLimits: { messageBytes: 0 } }, /maxLimits\.messageBytes must be a positive integer/);
      await assert.rejects(
        loadPlugin(`${s.root}/plain`, { audit: memoryAuditLog(), logger: silent, defaultLimits: { cpuMs: 5000 }, maxLimits: { cpuMs: 100 } }),
        (e: Coded) => e.code === "BAD_INPUT" && /defaults\.limits\.cpuMs \(5000\) is above maxLimits\.cpuMs \(100\)/.test(e.message),
      );
      const host = await createHost({ pluginsDir: s.root, logger: silent, healthIntervalMs: 0, defaults: { limits: { memoryMb: 32 } }, maxLimits: { memoryMb: 64, timeoutMs: 1000 } });
      try {
        await host.loadAll();
        const st = host.status().find((p) => p.id === "t.plain");
        assert.equal(st?.limits?.memoryMb, 32, "the host's default applies");
        assert.equal(st?.limits?.timeoutMs, 1000, "the built-in default (5000) follows the lower maximum");
        assert.deepEqual(st?.limitsClamped, [], "nothing the manifest asked for was cut");
        assert.equal(await host.invoke("t.plain", "ok"), "ok");
      } finally {
        await host.close();
      }
    } finally {
      s.cleanup();
    }
  });
});
