// A limit contained in a plugin's isolate still cost its co-tenants: an engine has one thread, and
// V8 collecting garbage near a 16 MiB heap limit holds it for ~300 ms, an endless loop for the
// call's cpuMs. So a plugin whose isolate is condemned by MEMORY_LIMIT or CPU_LIMIT in a shared
// engine is rebuilt in an engine of its own, as one that brought the engine down is. Controls: a
// plugin that throws, or whose call times out waiting (it held nothing), stays where it was.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { isWardenError } from "../../errors/index.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { createHost, type Host, type HostEvent } from "../../core/host/host.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";

const logger = createDefaultLogger(process.env["TEST_LOG"] ?? "silent");

describe("a limit hit in a shared engine moves the plugin to an engine of its own", () => {
  let s: Scratch;
  let host: Host;
  const events: HostEvent[] = [];
  const audit = memoryAuditLog();
  const st = (id: string) => host.status().find((p) => p.id === id);
  const failure = (id: string, entry: string) =>
    host.invoke(id, entry).then(
      () => assert.fail(`${id}.${entry}() should have failed`),
      (e: unknown) => {
        assert.ok(isWardenError(e), String(e));
        return e;
      },
    );
  const moves = (id: string) => events.filter((e) => e.type === "engine-move" && e.plugin === id);

  before(async () => {
    s = scratch();
    const ok = `export function ok() { return "ok"; }\n`;
    s.plugin("plugins/bystander", manifest("t.bystander"), { "index.js": ok });
    s.plugin("plugins/grow", manifest("t.grow", { limits: { memoryMb: 16, cpuMs: 5000, timeoutMs: 8000 } }), {
      "index.js": `${ok}export function grow() { const a = []; for (;;) a.push({ x: a.length, y: "payload" + a.length }); }\n`,
    });
    s.plugin("plugins/spin", manifest("t.spin", { limits: { cpuMs: 200, timeoutMs: 5000 } }), { "index.js": `${ok}export function spin() { for (;;) {} }\n` });
    s.plugin("plugins/thrower", manifest("t.thrower"), { "index.js": `${ok}export function fail() { throw new Error("nope"); }\n` });
    s.plugin("plugins/waiter", manifest("t.waiter", { limits: { timeoutMs: 300 } }), {
      "index.js": `${ok}export async function wait() { await new Promise((r) => setTimeout(r, 5000)); }\n`,
    });
    host = await createHost({ pluginsDir: join(s.root, "plugins"), logger, auditLog: audit, healthIntervalMs: 0, quarantine: { maxFailures: 100, windowMs: 60_000 } });
    host.on("event", (e) => events.push(e));
    await host.loadAll();
  });

  after(async () => {
    await host?.close();
    s?.cleanup();
  });

  it("all five share one engine to begin with", () => {
    const pid = st("t.bystander")?.engine?.pid;
    assert.ok(pid !== undefined);
    for (const id of ["t.grow", "t.spin", "t.thrower", "t.waiter"]) {
      assert.equal(st(id)?.engine?.pid, pid, id);
      assert.equal(st(id)?.engine?.dedicated, false, id);
    }
  });

  it("controls: a plugin that throws, or whose call times out while it waits, stays in the shared engine", async () => {
    const shared = st("t.bystander")?.engine?.pid;
    assert.equal((await failure("t.thrower", "fail")).code, "PLUGIN_ERROR");
    assert.equal((await failure("t.waiter", "wait")).code, "TIMEOUT");
    await until("the waiter is back after its timeout", () => (st("t.waiter")?.state === "active" && st("t.waiter")?.engine !== null ? true : undefined));
    assert.equal(await host.invoke("t.waiter", "ok"), "ok");
    for (const id of ["t.thrower", "t.waiter"]) {
      assert.equal(st(id)?.engine?.pid, shared, id);
      assert.equal(moves(id).length, 0, id);
    }
  });

  for (const [id, entry, code] of [
    ["t.grow", "grow", "MEMORY_LIMIT"],
    ["t.spin", "spin", "CPU_LIMIT"],
  ] as const) {
    it(`${code}: the engine lives on, its co-tenants are untouched, and ${id} is rebuilt alone (event and audit record say why)`, async () => {
      const shared = st("t.bystander")?.engine?.pid;
      assert.equal((await failure(id, entry)).code, code);
      await until(`${id} is back in an engine of its own`, () => (st(id)?.state === "active" && st(id)?.engine?.dedicated === true ? true : undefined));
      assert.equal(await host.invoke(id, "ok"), "ok");
      assert.notEqual(st(id)?.engine?.pid, shared);
      // Nothing happened to the engine it left: same process, the bystander never restarted.
      assert.equal(st("t.bystander")?.engine?.pid, shared);
      assert.equal(await host.invoke("t.bystander", "ok"), "ok");
      assert.equal(events.filter((e) => e.type === "engine-restart").length, 0);
      const [move, ...more] = moves(id);
      assert.equal(more.length, 0);
      assert.match((move as { reason: string }).reason, new RegExp(`${code} in an engine it shared`));
      assert.match(st(id)?.engine?.alone ?? "", new RegExp(code));
      const records = audit.lines.map((l) => JSON.parse(l) as { type: string; plugin?: string; reason?: string });
      assert.ok(records.some((r) => r.type === "engine-move" && r.plugin === id && r.reason?.includes(code) === true));
    });
  }

  it("a second limit in its own engine moves nothing more, and the plugin comes back there", async () => {
    assert.equal((await failure("t.grow", "grow")).code, "MEMORY_LIMIT");
    await until("t.grow is back", () => (st("t.grow")?.state === "active" && st("t.grow")?.engine !== null ? true : undefined));
    assert.equal(st("t.grow")?.engine?.dedicated, true);
    assert.equal(moves("t.grow").length, 1);
  });
});
