// createHost and loadPlugin check their options before building anything: every wrong value is
// BAD_INPUT naming the option's path, what it must be and what was given; a misspelt option is
// named with the options there are. Each refusal has a control: the same option with a good value
// is accepted (a check that refused everything would fail).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createHost, type HostOptions } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin } from "../../core/plugin.ts";
import { ManualClock } from "../helpers/manual-clock.ts";
import { manifest, scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");
type Coded = Error & { code?: string; details?: { field?: string } };

// [option (merged into a valid host's), the field named, the message's pattern, a good value of the same option]
const CASES: ReadonlyArray<readonly [Record<string, unknown>, string, RegExp, Record<string, unknown>]> = [
  [{ quarantine: { maxFailures: -1 } }, "quarantine.maxFailures", /quarantine\.maxFailures: expected a whole number from 1 to 1000000000, not -1/, { quarantine: { maxFailures: 1 } }],
  [{ quarantine: { baseMs: "60s" } }, "quarantine.baseMs", /quarantine\.baseMs: expected a whole number from 1 to 2147483647, not "60s"/, { quarantine: { baseMs: 60_000 } }],
  [{ quarantine: { maxMs: 2 ** 31 } }, "quarantine.maxMs", /not 2147483648/, { quarantine: { maxMs: 2 ** 31 - 1 } }],
  [{ restart: { baseMs: -5 } }, "restart.baseMs", /restart\.baseMs: expected a whole number from 0/, { restart: { baseMs: 0 } }],
  [{ healthIntervalMs: Number.NaN }, "healthIntervalMs", /healthIntervalMs: expected a whole number from 0 to 2147483647, not NaN/, { healthIntervalMs: 0 }],
  [{ healthIntervalMs: 1.5 }, "healthIntervalMs", /not 1\.5/, { healthIntervalMs: 1000 }],
  [{ startupTimeoutMs: "10s" }, "startupTimeoutMs", /startupTimeoutMs: expected a whole number from 1 to 3600000/, { startupTimeoutMs: 10_000 }],
  [{ maxCallDepth: 0 }, "maxCallDepth", /maxCallDepth: expected a whole number from 1 to 64, not 0/, { maxCallDepth: 1 }],
  [{ maxPluginsPerEngine: Infinity }, "maxPluginsPerEngine", /maxPluginsPerEngine: .* not Infinity/, { maxPluginsPerEngine: 4 }],
  [{ concurrency: { maxInFlight: 0 } }, "concurrency.maxInFlight", /concurrency\.maxInFlight: expected a whole number from 1/, { concurrency: { maxInFlight: 1 } }],
  [
    { concurrency: { maxRunning: 4 } },
    "concurrency.maxRunning",
    /concurrency\.maxRunning: not an option \(misspelt\?\); the options of concurrency are maxInFlight, maxQueued/,
    { concurrency: { maxQueued: 0 } },
  ],
  [{ quarantin: { maxFailures: 3 } }, "quarantin", /quarantin: not an option \(misspelt\?\); the options are .*quarantine/, { quarantine: { maxFailures: 3 } }],
  [{ auditLimits: { denialWindowMs: -1 } }, "auditLimits.denialWindowMs", /auditLimits\.denialWindowMs: expected a whole number from 1/, { auditLimits: { denialWindowMs: 1 } }],
  [{ isolation: "vm" }, "isolation", /isolation: expected "engine", "dedicated" \("process"\) or "in-process", not "vm"/, { isolation: "process" }],
  [{ approvals: "yes" }, "approvals", /approvals: expected "required" or "off", not "yes"/, { approvals: "off" }],
  [{ sandbox: "on" }, "sandbox", /sandbox: expected "auto", "require" or "off", not "on"/, { sandbox: "auto" }],
  [{ watch: "true" }, "watch", /watch: expected true or false, not "true"/, { watch: false }],
  [{ clock: { now: () => 0 } }, "clock", /clock: expected a clock \(an object with now\(\), after\(\)\)/, { clock: new ManualClock() }],
  [{ logger: console }, "logger", /logger: expected a pino-style logger/, { logger }],
  [{ auditLog: 5 }, "auditLog", /auditLog: expected a file path or an audit writer/, { auditLog: memoryAuditLog() }],
  [{ onAudit: "log" }, "onAudit", /onAudit: expected a function, not "log"/, { onAudit: () => undefined }],
  [{ pluginsDir: "" }, "pluginsDir", /pluginsDir: expected the path of a directory, not ""/, {}],
];

describe("createHost's options", () => {
  const s = scratch();
  s.plugin("a", manifest("t.a"), { "index.js": "export const v = () => 'a';" });
  const base: HostOptions = { pluginsDir: s.root, logger, healthIntervalMs: 0, isolation: "in-process", spareEngines: 0 };

  for (const [bad, field, message, good] of CASES) {
    it(`${JSON.stringify(bad, (_k, v: unknown) => (typeof v === "function" ? "fn" : v === console ? "console" : v))}: BAD_INPUT naming ${field} (control: ${Object.keys(good).join(", ") || "the defaults"} accepted)`, async () => {
      await assert.rejects(createHost({ ...base, ...bad }), (e: Coded) => {
        assert.equal(e.code, "BAD_INPUT", e.message);
        assert.match(e.message, /^createHost: /);
        assert.match(e.message, message);
        assert.equal(e.details?.field, field);
        return true;
      });
      const host = await createHost({ ...base, ...good });
      try {
        await host.loadAll();
        assert.equal(await host.invoke("t.a", "v"), "a");
      } finally {
        await host.close();
      }
    });
  }

  it("every wrong option is named at once, not only the first", async () => {
    await assert.rejects(createHost({ ...base, maxCallDepth: 0, quarantine: { windowMs: 0 } }), (e: Coded) => {
      assert.match(e.message, /maxCallDepth: expected a whole number from 1 to 64, not 0/);
      assert.match(e.message, /quarantine\.windowMs: expected a whole number from 1 to 2147483647, not 0/);
      return true;
    });
  });
});

describe("loadPlugin's options", () => {
  it("the options it shares with createHost are checked the same way; the audit writer is required (control: valid options load)", async () => {
    const s = scratch();
    const dir = s.plugin("a", manifest("t.a"), { "index.js": "export const v = () => 'a';" });
    try {
      await assert.rejects(loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation: "in-process", restart: { maxMs: -1 } }), (e: Coded) => {
        assert.equal(e.code, "BAD_INPUT");
        assert.match(e.message, /^loadPlugin .*: restart\.maxMs: expected a whole number from 0 to 2147483647, not -1$/);
        return true;
      });
      await assert.rejects(loadPlugin(dir, { logger, isolation: "in-process" } as never), (e: Coded) => {
        assert.equal(e.code, "BAD_INPUT");
        assert.match(e.message, /audit: expected an audit writer \(an object with append\(\), appendBatch\(\)\)/);
        return true;
      });
      const p = await loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation: "in-process", restart: { maxMs: 0 }, clock: new ManualClock() });
      try {
        assert.equal(await p.invoke("v"), "a");
      } finally {
        await p.close();
      }
    } finally {
      s.cleanup();
    }
  });
});
