// The host's lifecycle calls in the orders a real application makes them: loadAll twice (a rescan),
// unload while a plugin is still loading, and calls on a closed host. Each ends with nothing
// leaked (no second sandbox for a plugin, no plugin left running that was asked to stop).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createHost, type HostEvent } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { ManualClock } from "../helpers/manual-clock.ts";
import { manifest, scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";

const logger = createDefaultLogger("silent");

type Coded = Error & { code?: string };

describe("the host's lifecycle", () => {
  it("loadAll again loads what was added and retries what failed, and leaves running plugins (and their state) alone", async () => {
    const s = scratch();
    s.plugin("a", manifest("t.a"), { "index.js": "let n = 0; export const count = () => ++n;" });
    s.plugin("broken", manifest("t.broken"), { "index.js": "export const v = () => { ;" });
    const host = await createHost({ pluginsDir: s.root, logger, isolation: "in-process", healthIntervalMs: 0 });
    const loads: string[] = [];
    host.on("event", (e: HostEvent) => {
      if (e.type === "load") loads.push(e.plugin);
    });
    try {
      await host.loadAll();
      assert.equal(await host.invoke("t.a", "count"), 1);
      assert.equal(host.status().find((p) => p.id === "t.broken")?.state, "failed");
      // Added since, and the broken one fixed.
      s.plugin("b", manifest("t.b"), { "index.js": "export const v = () => 'b';" });
      s.plugin("broken", manifest("t.broken"), { "index.js": "export const v = () => 'fixed';" });
      await host.loadAll();
      assert.deepEqual(loads.sort(), ["t.a", "t.b", "t.broken"], "t.a was not loaded a second time");
      assert.equal(await host.invoke("t.a", "count"), 2, "the running t.a kept its state: it is the same sandbox");
      assert.equal(await host.invoke("t.b", "v"), "b");
      assert.equal(await host.invoke("t.broken", "v"), "fixed");
    } finally {
      await host.close();
      s.cleanup();
    }
  });

  it("an operator's unload stays in force across loadAll", async () => {
    const s = scratch();
    s.plugin("a", manifest("t.a"), { "index.js": "export const v = () => 'a';" });
    const host = await createHost({ pluginsDir: s.root, logger, isolation: "in-process", healthIntervalMs: 0 });
    try {
      await host.loadAll();
      await host.unload("t.a");
      await host.loadAll();
      assert.equal(host.status().find((p) => p.id === "t.a")?.state, "stopped");
      // Control: reload starts it again, as documented.
      await host.reload("t.a");
      assert.equal(await host.invoke("t.a", "v"), "a");
    } finally {
      await host.close();
      s.cleanup();
    }
  });

  it("unload while the plugin is still loading stops it once its load settled (it does not stay running)", async () => {
    const s = scratch();
    const host = await createHost({ pluginsDir: s.root, logger, isolation: "in-process", healthIntervalMs: 0 });
    try {
      await host.loadAll();
      const dir = s.plugin("slow", manifest("t.slow"), { "index.js": "export async function onLoad() { await new Promise((r) => setTimeout(r, 800)); } export const v = () => 1;" });
      const loading = host.load(dir);
      await until("the plugin is loading", () => host.status().find((p) => p.id === "t.slow")?.state === "loading");
      await host.unload("t.slow", "changed my mind");
      await loading.catch(() => undefined);
      const st = host.status().find((p) => p.id === "t.slow");
      assert.equal(st?.state, "stopped");
      assert.equal(st?.reason, "changed my mind");
      await assert.rejects(host.invoke("t.slow", "v"), (e: Coded) => e.code === "PLUGIN_ERROR" && /stopped/.test(e.message));
    } finally {
      await host.close();
      s.cleanup();
    }
  });

  it("a closed host refuses loadAll and reload, saying it is closed", async () => {
    const s = scratch();
    s.plugin("a", manifest("t.a"), { "index.js": "export const v = () => 'a';" });
    const host = await createHost({ pluginsDir: s.root, logger, isolation: "in-process", healthIntervalMs: 0 });
    await host.loadAll();
    assert.equal(await host.invoke("t.a", "v"), "a");
    await host.close();
    try {
      await assert.rejects(host.loadAll(), (e: Coded) => e.code === "PLUGIN_ERROR" && /the host over .* is closed/.test(e.message));
      await assert.rejects(host.reload("t.a"), (e: Coded) => e.code === "PLUGIN_ERROR" && /host\.reload\("t\.a"\): the host is closed/.test(e.message));
      assert.equal(host.status().find((p) => p.id === "t.a")?.state, "stopped");
    } finally {
      s.cleanup();
    }
  });

  it("spareEngines must be a whole number from 0 to 16; 0 starts none (control: 1 starts one)", async () => {
    const s = scratch();
    s.plugin("a", manifest("t.a"), { "index.js": "export const v = () => 'a';" });
    try {
      for (const bad of [-1, 1.5, 17, Number.NaN, "1"]) {
        await assert.rejects(
          createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0, spareEngines: bad as number }),
          (e: Coded) => e.code === "BAD_INPUT" && /spareEngines: expected a whole number from 0 to 16/.test(e.message),
        );
      }
      for (const spares of [0, 1]) {
        const clock = new ManualClock();
        const host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0, spareEngines: spares, clock });
        try {
          await host.loadAll();
          assert.equal(await host.invoke("t.a", "v"), "a");
          // Spares start a moment after a placement (off its path): the clock says when.
          assert.equal(host.spareEngines.length, 0, "none before their delay");
          clock.advance(60_000);
          if (spares === 1) await until("a spare engine", () => host.spareEngines.length === 1);
          else {
            assert.deepEqual(clock.pending, [], "no spare is scheduled at all");
            assert.equal(host.spareEngines.length, 0);
          }
        } finally {
          await host.close();
        }
      }
    } finally {
      s.cleanup();
    }
  });
});
