// Budgets belong to the plugin id, not to one loaded version or one sandbox process: a plugin that
// spent its cpuMsPerMinute, or failed its way into quarantine, gets no fresh start by triggering a
// reload (writing a watched file of its own, or an operator's reload) or a restart of its crashed
// sandbox process. Each attack next to the legitimate neighbour that must keep working.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createHost, type Host, type HostEvent } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginEvent } from "../../core/plugin.ts";
import { manifest, scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";

const silent = createDefaultLogger("silent");

const source = `
export function spinFor(ms) { const end = Date.now() + ms; while (Date.now() < end) {} return ms; }
export function spin() { for (;;) {} }
export function ok() { return "ok"; }
export function background(ms) { setTimeout(() => { const end = Date.now() + ms; while (Date.now() < end) {} }, 0); return true; }
export async function rewrite({ file, text }) { await Warden.fs.writeTextFile(file, text); return true; }
`;

// Budget of 400 ms per minute, 300 ms per call: once 250 ms are spent, a fresh window would let a
// runaway call run into its per-call cpuMs (300), while the plugin's real window stops it first.
const LIMITS = { cpuMs: 300, cpuMsPerMinute: 400 };
const SPENT = 250;

type Coded = Error & { code?: string };

/** The refusal of a plugin that spent its window (not a per-call cpuMs stop). */
function budgetRefusal(e: Coded): boolean {
  assert.equal(e.code, "CPU_LIMIT", e.message);
  assert.match(e.message, /used its CPU budget of 400 ms per 60 s \(limits\.cpuMsPerMinute\); it can run again in \d/);
  return true;
}

/** Spend CPU a little at a time, each call within every limit, until `used()` reaches `ms`. */
async function spend(call: () => Promise<unknown>, used: () => number, ms: number): Promise<void> {
  for (let i = 0; i < 100 && used() < ms; i++) await call();
  assert.ok(used() >= ms, `spent ${used()} ms`);
}

function used(host: Host, id: string): number {
  return host.status().find((p) => p.id === id)?.cpuUsedMs ?? 0;
}

describe("CPU budget across reloads", () => {
  for (const isolation of ["process", "in-process"] as const) {
    it(`${isolation}: a reloaded version runs on what is left of the plugin's window; a spent plugin cannot reload its way to a fresh one (positive control: reloads within budget work, a bystander is untouched)`, async () => {
      const s = scratch();
      const dir = s.plugin("spender", manifest("t.spender", { limits: LIMITS }), { "index.js": source });
      s.plugin("bystander", manifest("t.bystander", { limits: LIMITS }), { "index.js": source });
      const host = await createHost({ pluginsDir: s.root, logger: silent, healthIntervalMs: 0, isolation, quarantine: { maxFailures: 1000 } });
      try {
        await host.loadAll();
        await spend(
          () => host.invoke("t.spender", "spinFor", 40),
          () => used(host, "t.spender"),
          SPENT,
        );
        writeFileSync(join(dir, "index.js"), `${source}\n// v2`);
        await host.reload("t.spender");
        assert.equal(await host.invoke("t.spender", "ok"), "ok", "positive control: within its budget the plugin reloads and keeps serving");
        assert.ok(used(host, "t.spender") >= SPENT, "the budget was not reset by the reload");
        // A fresh window would stop this runaway at cpuMs (300 ms); the plugin's window has at most 150 ms left.
        await assert.rejects(host.invoke("t.spender", "spin"), budgetRefusal);
        await assert.rejects(host.invoke("t.spender", "ok"), budgetRefusal);
        // Spent, it cannot start a new version either (loading runs its code); the old one goes on refusing.
        await assert.rejects(host.reload("t.spender"), /used its CPU budget of 400 ms/);
        await assert.rejects(host.invoke("t.spender", "ok"), budgetRefusal);
        assert.match(host.status().find((p) => p.id === "t.spender")?.reason ?? "", /reload refused.*CPU budget/);
        // Positive control: another plugin's budget is its own.
        for (let i = 0; i < 3; i++) assert.equal(await host.invoke("t.bystander", "spinFor", 20), 20);
        assert.equal(await host.invoke("t.bystander", "ok"), "ok");
      } finally {
        await host.close();
        s.cleanup();
      }
    });
  }

  it("CPU spent in the background (timers after the call returned) is the plugin's too, and survives the reload", async () => {
    const s = scratch();
    const dir = s.plugin("sneak", manifest("t.sneak", { limits: LIMITS }), { "index.js": source });
    const host = await createHost({ pluginsDir: s.root, logger: silent, healthIntervalMs: 0, quarantine: { maxFailures: 1000 } });
    try {
      await host.loadAll();
      await spend(
        async () => {
          const before = used(host, "t.sneak");
          assert.equal(await host.invoke("t.sneak", "background", 40), true);
          // The call itself costs next to nothing; its timer spins 40 ms after it returned. That CPU
          // reaches the host folded into a result or in a report of its own, whichever comes first
          // (under load the timer may run before the result is sent, and a 40 ms spin may get far less than
          // 40 ms of CPU), so wait for some of it, not for a second report.
          await until("the background timer's CPU to be charged", () => used(host, "t.sneak") - before >= 5);
        },
        () => used(host, "t.sneak"),
        SPENT,
      );
      writeFileSync(join(dir, "index.js"), `${source}\n// v2`);
      await host.reload("t.sneak");
      await assert.rejects(host.invoke("t.sneak", "spin"), budgetRefusal);
    } finally {
      await host.close();
      s.cleanup();
    }
  });

  it("reloads by the file watcher do not reset a spent budget: the plugin cannot rewrite its own files to trigger one, a new version does not get a fresh window, and one asking for more is refused", async () => {
    const s = scratch();
    const grants = { permissions: { write: ["./"] } };
    const dir = s.plugin("rewriter", manifest("t.rewriter", { ...grants, limits: LIMITS }), { "index.js": source });
    const host = await createHost({ pluginsDir: s.root, logger: silent, healthIntervalMs: 0, watch: true, quarantine: { maxFailures: 1000 }, maxLimits: { cpuMsPerMinute: 400 } });
    const reloads: string[] = [];
    const refused: string[] = [];
    host.on("event", (e: HostEvent) => {
      if (e.type === "reload" && e.plugin === "t.rewriter") reloads.push(e.to);
      if (e.type === "reload-failed" && e.plugin === "t.rewriter") refused.push(e.reason);
    });
    try {
      await host.loadAll();
      // The plugin's own attempt to trigger a reload: its manifest and modules are not writable.
      await assert.rejects(host.invoke("t.rewriter", "rewrite", { file: "index.js", text: `${source}\n// rewritten by the plugin` }), /PERMISSION_DENIED|own manifest and code/);
      assert.equal(await host.invoke("t.rewriter", "rewrite", { file: "notes.txt", text: "data" }), true, "positive control: it writes its data");
      await spend(
        () => host.invoke("t.rewriter", "spinFor", 40),
        () => used(host, "t.rewriter"),
        SPENT,
      );
      // Someone else changes the code on disk: the watcher reloads it, the window stays spent.
      writeFileSync(join(dir, "index.js"), `${source}\n// v2`);
      await until("the watcher reloaded the plugin", () => reloads.length > 0);
      await assert.rejects(host.invoke("t.rewriter", "spin"), budgetRefusal);
      await assert.rejects(host.invoke("t.rewriter", "ok"), budgetRefusal);
      // A new plugin.json asking for a bigger budget is growth: refused, and nothing is reset.
      writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest("t.rewriter", { ...grants, version: "1.0.1", limits: { cpuMs: 300, cpuMsPerMinute: 3_600_000 } })));
      await until("the watcher tried the new version", () => refused.length > 0);
      assert.match(refused[0] ?? "", /grew|budget/);
      await assert.rejects(host.invoke("t.rewriter", "ok"), budgetRefusal);
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("CPU budget across restarts", () => {
  it("a crashed sandbox process is restarted with the plugin's window, not a fresh one (positive control: the restarted plugin serves within it)", async () => {
    const s = scratch();
    const events: PluginEvent[] = [];
    const p = await loadPlugin(s.plugin("crashy", manifest("t.crashy", { limits: LIMITS }), { "index.js": source }), {
      audit: memoryAuditLog(),
      logger: silent,
      quarantine: { maxFailures: 1000 },
      onEvent: (e) => events.push(e),
    });
    try {
      await spend(
        () => p.invoke("spinFor", 40),
        () => p.cpuUsedMs,
        SPENT,
      );
      const pid = p.sandboxPid;
      assert.ok(pid !== undefined);
      // Whatever ends the process (the OOM killer, a V8 abort), the next call starts a new one.
      process.kill(pid, "SIGKILL");
      await until("the crash was seen", () => events.some((e) => e.type === "crash"));
      assert.equal(await p.invoke("ok"), "ok", "positive control: restarted, it serves within what is left");
      assert.notEqual(p.sandboxPid, pid, "a new sandbox process");
      assert.ok(p.cpuUsedMs >= SPENT, "the handle's ledger kept the charges");
      await assert.rejects(p.invoke("spin"), budgetRefusal);
      await assert.rejects(p.invoke("ok"), budgetRefusal);
    } finally {
      await p.close();
      s.cleanup();
    }
  });
});

describe("quarantine across reloads", () => {
  it("failures add up across versions, a quarantined plugin stays quarantined after a reload, the event fires once, and release() works (positive control: a bystander is untouched)", async () => {
    const s = scratch();
    const dir = s.plugin("failer", manifest("t.failer", { limits: { cpuMs: 50 } }), { "index.js": source });
    s.plugin("calm", manifest("t.calm"), { "index.js": source });
    const host = await createHost({ pluginsDir: s.root, logger: silent, healthIntervalMs: 0, quarantine: { maxFailures: 3, windowMs: 60_000, baseMs: 60_000 } });
    const events: HostEvent[] = [];
    host.on("event", (e) => events.push(e));
    let version = 0;
    const reload = async () => {
      writeFileSync(join(dir, "index.js"), `${source}\n// v${++version}`);
      await host.reload("t.failer");
    };
    try {
      await host.loadAll();
      // One failure per version: a ledger per version would never reach three.
      for (let i = 0; i < 3; i++) {
        await assert.rejects(host.invoke("t.failer", "spin"), { code: "CPU_LIMIT", message: /spin\(\) used more than cpuMs/ });
        if (i < 2) {
          await reload();
          assert.equal(await host.invoke("t.failer", "ok"), "ok", "positive control: below the threshold the new version serves");
        }
      }
      await assert.rejects(host.invoke("t.failer", "ok"), { code: "QUARANTINED", message: /quarantined until/ });
      await reload();
      await assert.rejects(host.invoke("t.failer", "ok"), (e: Coded) => {
        assert.equal(e.code, "QUARANTINED");
        assert.match(e.message, /quarantined until .* after failing 3 times in 60 s/);
        return true;
      });
      assert.equal(host.status().find((p) => p.id === "t.failer")?.state, "quarantined");
      assert.equal(await host.invoke("t.calm", "ok"), "ok", "a bystander is not quarantined");
      host.release("t.failer");
      assert.equal(await host.invoke("t.failer", "ok"), "ok", "released by the operator, the reloaded version runs");
      const mine = events.filter((e) => e.plugin === "t.failer" && (e.type === "quarantine" || e.type === "release")).map((e) => e.type);
      assert.deepEqual(mine, ["quarantine", "release"], "each event once, whatever the number of versions");
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});
