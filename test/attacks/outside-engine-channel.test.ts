// A compromised engine against the host that supervises it. An engine holds its tenants' isolates;
// a plugin that escapes V8 owns the engine process and can write anything to its channel to the
// host. The host must read that as untrusted input: whatever comes, the host lives, ends that
// engine, tells the tenants why, and serves them again from a fresh engine. The engine here is
// made hostile by a preloaded module (test/helpers/hostile-engine.ts) that acts when a plugin's
// result carries its trigger; until then it is warden's engine, which is the positive control.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createHost, type Host } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { HOSTILE_MODES, TRIGGER } from "../helpers/hostile-engine.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const HOSTILE = join(REPO_ROOT, "dist/test/helpers/hostile-engine.js");

const source = `
export function ok() { return "ok"; }
export function escape() { return ${JSON.stringify(TRIGGER)}; }
`;

describe("a compromised engine writing to the host's channel", () => {
  let s: Scratch | undefined;
  let host: Host | undefined;

  afterEach(async () => {
    await host?.close();
    host = undefined;
    delete process.env["WARDEN_SANDBOX_NODE_ARGS"];
  });
  after(() => s?.cleanup());

  async function hostileHost(mode: string): Promise<Host> {
    s ??= scratch();
    const dir = join(s.root, mode);
    s.plugin(`${mode}/victim`, manifest("hostile.victim"), { "index.js": source });
    s.plugin(`${mode}/neighbour`, manifest("hostile.neighbour"), { "index.js": source });
    // Read by the host each time it starts an engine: every engine of this host is hostile.
    process.env["WARDEN_SANDBOX_NODE_ARGS"] = `--title=${mode} --import ${HOSTILE}`;
    host = await createHost({ pluginsDir: dir, auditLog: memoryAuditLog(), logger: createDefaultLogger("silent"), healthIntervalMs: 0 });
    await host.loadAll();
    return host;
  }

  for (const [what, mode, expected] of [
    ["one line that is not JSON", HOSTILE_MODES.notJson, /broke warden's channel \(it sent a message that is not JSON/],
    ["200 MiB with no end of line", HOSTILE_MODES.endless, /broke warden's channel \(it sent a message longer than \d+ bytes\)/],
  ] as const) {
    it(`${what}: the host lives, ends the engine, names why, and serves its tenants again`, async () => {
      const h = await hostileHost(mode);
      // Positive control: the engine works until the trigger.
      assert.equal(await h.invoke("hostile.victim", "ok"), "ok");
      assert.equal(await h.invoke("hostile.neighbour", "ok"), "ok");
      const before = h.status().find((p) => p.id === "hostile.victim")?.engine?.pid;
      await assert.rejects(h.invoke("hostile.victim", "escape"), (e: Error & { code?: string }) => {
        // Which tenant took the engine over, the host cannot know: every tenant's call in flight
        // fails as retryable (ENGINE_RESTARTED) unless the crossing marker named one (PLUGIN_ERROR).
        assert.ok(e.code === "ENGINE_RESTARTED" || e.code === "PLUGIN_ERROR", `${e.code}: ${e.message}`);
        assert.match(e.message, expected);
        return true;
      });
      // The host is still here and serves both plugins again, from another engine.
      assert.equal(await h.invoke("hostile.victim", "ok"), "ok");
      assert.equal(await h.invoke("hostile.neighbour", "ok"), "ok");
      assert.notEqual(h.status().find((p) => p.id === "hostile.victim")?.engine?.pid, before);
    });
  }
});
