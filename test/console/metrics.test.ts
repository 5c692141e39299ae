// createHostMetrics: a real host's calls, errors, latency, CPU, capability uses and denials (as the
// audit log aggregates them) and quarantines, read back from the Prometheus text with exact counts;
// and no label value outside its closed set, whatever a hostile plugin names or throws.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { after, before, describe, it } from "node:test";
import { register as globalRegistry } from "prom-client";
import type { AuditRecordInput } from "../../core/audit/audit-log.ts";
import { ERROR_CODES } from "../../errors/index.ts";
import { createHost, type Host, type HostEvent } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { createHostMetrics, PERMISSION_KINDS, PLUGIN_STATES, type HostMetrics, type MetricsSource } from "../../core/console/metrics.ts";
import { ManualClock } from "../helpers/manual-clock.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { parseExposition, valueOf, type Exposition } from "./prometheus-text.ts";

const HOSTILE = "<img src=x onerror=window.__pwned=1>";

/** Poll `done` until it holds or `ms` passes. */
async function until(done: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return done();
}

/** Every warden_ sample's labels are from their closed sets (`plugins`: the host's ids). */
function assertBoundedLabels(e: Exposition, plugins: ReadonlySet<string>): void {
  const allowed: Record<string, (v: string) => boolean> = {
    plugin: (v) => plugins.has(v),
    code: (v) => v === "OTHER" || (ERROR_CODES as readonly string[]).includes(v),
    permission: (v) => (PERMISSION_KINDS as readonly string[]).includes(v),
    state: (v) => (PLUGIN_STATES as readonly string[]).includes(v),
    engine: (v) => /^[0-9]+$/.test(v),
    le: (v) => v === "+Inf" || Number.isFinite(Number(v)),
  };
  for (const s of e.samples) {
    if (!s.name.startsWith("warden_")) continue;
    for (const [k, v] of Object.entries(s.labels)) {
      const ok = allowed[k];
      assert.ok(ok !== undefined, `label ${k} of ${s.name} is not one of the contract's`);
      assert.ok(ok(v), `${s.name}{${k}=${JSON.stringify(v)}} is outside its set`);
    }
  }
}

describe("createHostMetrics over a real host", () => {
  let s: Scratch;
  let host: Host;
  let metrics: HostMetrics | null = null;
  const clock = new ManualClock();

  before(async () => {
    s = scratch();
    process.env["WARDEN_METRICS_OK"] = "yes";
    s.plugin("app", manifest("m.app", { permissions: { env: ["WARDEN_METRICS_OK"] } }), {
      "index.js": `export const ok = () => 1;
export function fail() { throw new Error("no"); }
export const env = (name) => Warden.env.get(name).then(() => "got", (e) => e.code);`,
    });
    s.plugin("evil", manifest("m.evil", { name: HOSTILE, limits: { timeoutMs: 200 } }), {
      "index.js": `export function evil() { const e = new Error(${JSON.stringify(HOSTILE)}); e.code = "MADE_UP<script>"; e.name = "X"; throw e; }
export function spin() { for (;;) {} }`,
    });
    host = await createHost({
      pluginsDir: s.root,
      logger: createDefaultLogger("silent"),
      healthIntervalMs: 0,
      // Two denials of a kind in full per window, the rest aggregated when a short window ends.
      auditLimits: { distinctDenialsPerKind: 2, denialWindowMs: 300 },
      // The window ends when the test moves this clock (quarantine and spares run on it too).
      clock,
      quarantine: { maxFailures: 1 },
      onAudit: (r) => metrics?.observeAudit(r),
    });
    metrics = createHostMetrics(host);
    await host.loadAll();
  });

  after(async () => {
    metrics?.close();
    await host.close();
    s.cleanup();
    delete process.env["WARDEN_METRICS_OK"];
  });

  it("counts calls, errors, latency and CPU per plugin, and errors by warden's code only", async () => {
    const m = metrics as HostMetrics;
    for (let i = 0; i < 3; i++) assert.equal(await host.invoke("m.app", "ok"), 1);
    for (let i = 0; i < 2; i++) await assert.rejects(host.invoke("m.app", "fail"), { code: "PLUGIN_ERROR", message: /^Error: no$/ });
    await assert.rejects(host.invoke("m.evil", "evil"));
    const e = parseExposition(await m.render());
    assert.equal(valueOf(e, "warden_plugin_calls_total", { plugin: "m.app" }), 5);
    assert.equal(valueOf(e, "warden_plugin_errors_total", { plugin: "m.app", code: "PLUGIN_ERROR" }), 2);
    assert.equal(valueOf(e, "warden_plugin_call_duration_seconds_count", { plugin: "m.app" }), 5);
    assert.equal(valueOf(e, "warden_plugin_call_duration_seconds_bucket", { plugin: "m.app", le: "+Inf" }), 5);
    assert.equal(valueOf(e, "warden_plugin_call_duration_seconds_bucket", { plugin: "m.app", le: "0.001" }) !== undefined, true);
    assert.equal(valueOf(e, "warden_plugin_call_duration_seconds_bucket", { plugin: "m.app", le: "30" }), 5);
    assert.ok((valueOf(e, "warden_plugin_call_duration_seconds_sum", { plugin: "m.app" }) ?? 0) > 0);
    assert.ok((valueOf(e, "warden_plugin_cpu_ms_total", { plugin: "m.app" }) ?? 0) > 0);
    assert.equal(valueOf(e, "warden_plugin_calls_total", { plugin: "m.evil" }), 1);
    const evilErrors = e.samples.filter((x) => x.name === "warden_plugin_errors_total" && x.labels["plugin"] === "m.evil");
    assert.equal(evilErrors.length, 1);
    assert.equal(evilErrors[0]?.value, 1);
    assert.equal(e.type.get("warden_plugin_call_duration_seconds"), "histogram");
    assert.equal(e.type.get("warden_plugin_calls_total"), "counter");
    assertBoundedLabels(e, new Set(["m.app", "m.evil"]));
  });

  it("counts uses and denials from the audit records, aggregated ones by their count", async () => {
    const m = metrics as HostMetrics;
    assert.equal(await host.invoke("m.app", "env", "WARDEN_METRICS_OK"), "got");
    assert.equal(await host.invoke("m.app", "env", "WARDEN_METRICS_OK"), "got");
    // D1 and D2 in full, D1 again a repeat, D3 and D4 past the kind's share: 5 denials in 3 or 4 records.
    for (const name of ["D1", "D2", "D1", "D3", "D4"]) assert.equal(await host.invoke("m.app", "env", `WARDEN_METRICS_${name}`), "PERMISSION_DENIED");
    const denials = async () => valueOf(parseExposition(await m.render()), "warden_capability_denials_total", { plugin: "m.app", permission: "env" });
    // The capability check is the host's: every denial is in the aggregator once its call returned.
    assert.equal(await denials(), 2, "D1 and D2 at once; the repeat and the kind's overflow wait for the window's end");
    clock.advance(299);
    assert.equal(await denials(), 2);
    clock.advance(1);
    assert.equal(await denials(), 5);
    // The window has ended and nothing more is counted later.
    clock.advance(10_000);
    const e = parseExposition(await m.render());
    assert.equal(valueOf(e, "warden_capability_denials_total", { plugin: "m.app", permission: "env" }), 5);
    assert.equal(valueOf(e, "warden_capability_uses_total", { plugin: "m.app", permission: "env" }), 2);
    assertBoundedLabels(e, new Set(["m.app", "m.evil"]));
  });

  it("bounds what an audit record names: a made-up permission is 'other', an id that is not one is not counted", async () => {
    const m = metrics as HostMetrics;
    const records: AuditRecordInput[] = [
      { type: "deny", plugin: "m.evil", permission: "made.up<script>", value: "x" },
      { type: "use", plugin: "m.evil", permission: { toString: () => "net" } },
      { type: "use", plugin: HOSTILE, permission: "net" },
      { type: "deny-aggregate", plugin: "../../etc", permission: "read", count: 1e6 },
      { type: "deny-repeat", plugin: "m.evil", permission: "net", count: 4 },
      {
        type: "audit-suppressed",
        plugin: "m.evil",
        counts: [{ type: "use", permission: "net", count: 7 }, { type: "deny", permission: "channels", count: 2 }, { type: "*", permission: "*", count: 9 }, null, "junk"],
      },
    ];
    for (const r of records) m.observeAudit(r);
    const e = parseExposition(await m.render());
    assert.equal(valueOf(e, "warden_capability_denials_total", { plugin: "m.evil", permission: "other" }), 3);
    assert.equal(valueOf(e, "warden_capability_denials_total", { plugin: "m.evil", permission: "net" }), 4);
    assert.equal(valueOf(e, "warden_capability_uses_total", { plugin: "m.evil", permission: "other" }), 1);
    assert.equal(valueOf(e, "warden_capability_uses_total", { plugin: "m.evil", permission: "net" }), 7);
    assert.equal(valueOf(e, "warden_capability_denials_total", { plugin: "m.evil", permission: "read" }), undefined);
    assertBoundedLabels(e, new Set(["m.app", "m.evil"]));
  });

  it("reads plugin states, engine memory and quarantines at scrape time, with the default process metrics", async () => {
    const m = metrics as HostMetrics;
    await assert.rejects(host.invoke("m.evil", "spin"), { code: "TIMEOUT", message: /spin\(\)/ });
    const quarantined = async () => valueOf(parseExposition(await m.render()), "warden_plugins", { state: "quarantined" });
    assert.ok(await until(async () => (await quarantined()) === 1), `quarantined: ${await quarantined()}`);
    const e = parseExposition(await m.render());
    assert.equal(valueOf(e, "warden_plugin_quarantines_total", { plugin: "m.evil" }), 1);
    assert.equal(valueOf(e, "warden_plugins", { state: "active" }), 1);
    for (const state of PLUGIN_STATES) assert.notEqual(valueOf(e, "warden_plugins", { state }), undefined, state);
    assert.equal(e.type.get("warden_engine_restarts_total"), "counter");
    assert.notEqual(valueOf(e, "warden_engine_restarts_total"), undefined);
    const engines = host.engines.filter((x) => x.pid !== undefined);
    assert.ok(engines.length > 0, "the host runs its plugins in engines");
    for (const x of engines) assert.ok((valueOf(e, "warden_engine_memory_bytes", { engine: String(x.id) }) ?? 0) > 10 * 1024 * 1024, `engine ${x.id}: ${m.contentType}`);
    assert.ok(valueOf(e, "process_cpu_user_seconds_total") !== undefined);
    assert.ok(e.samples.some((x) => x.name === "nodejs_heap_size_total_bytes"));
    assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(globalRegistry.getSingleMetric("warden_plugin_calls_total"), undefined, "the global registry is left alone");
    assertBoundedLabels(e, new Set(["m.app", "m.evil"]));
  });
});

describe("createHostMetrics over events no host would send", () => {
  it("labels only valid ids, warden's codes, and counts one engine restart per engine lost", async () => {
    const emitter = new EventEmitter();
    // Host's on/off return the host for chaining; the metrics do not chain.
    const source = {
      on: (_: "event", l: (e: HostEvent) => void) => emitter.on("event", l),
      off: (_: "event", l: (e: HostEvent) => void) => emitter.off("event", l),
      status: () => [],
      engines: [],
      spareEngines: [],
    } as unknown as MetricsSource;
    const m = createHostMetrics(source);
    const invoke = (plugin: string, code?: string): HostEvent => ({
      type: "invoke",
      plugin,
      entry: "x",
      caller: "host",
      ms: 2,
      cpuMs: 1,
      ok: code === undefined,
      ...(code !== undefined ? { code } : {}),
    });
    emitter.emit("event", invoke("m.ok", "MADE_UP"));
    emitter.emit("event", invoke("m.ok", "TIMEOUT"));
    emitter.emit("event", invoke(HOSTILE, "PLUGIN_ERROR"));
    emitter.emit("event", invoke('m.x"} 1\nwarden_fake 2'));
    emitter.emit("event", { type: "quarantine", plugin: HOSTILE, until: "", failures: 1, cause: "" });
    for (const plugin of ["m.a", "m.b", "m.c"]) emitter.emit("event", { type: "engine-restart", plugin, culprits: ["m.d"], message: "" });
    await new Promise((r) => setImmediate(r));
    emitter.emit("event", { type: "engine-restart", plugin: "m.a", culprits: [], message: "" });
    const e = parseExposition(await m.render());
    assert.equal(valueOf(e, "warden_plugin_errors_total", { plugin: "m.ok", code: "OTHER" }), 1);
    assert.equal(valueOf(e, "warden_plugin_errors_total", { plugin: "m.ok", code: "TIMEOUT" }), 1);
    assert.equal(valueOf(e, "warden_plugin_calls_total", { plugin: "m.ok" }), 2);
    assert.equal(valueOf(e, "warden_engine_restarts_total"), 2);
    assert.equal(e.samples.filter((x) => x.name === "warden_plugin_quarantines_total").length, 0);
    assert.ok(!e.samples.some((x) => x.name === "warden_fake"));
    assertBoundedLabels(e, new Set(["m.ok"]));
    m.close();
    assert.equal(emitter.listenerCount("event"), 0);
  });
});
