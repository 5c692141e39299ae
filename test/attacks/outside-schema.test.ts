// Outside attacker: a plugin author whose plugin.json declares JSON Schemas (entry inputs, config)
// that ajv runs on the HOST's thread. RE2 and a step budget bound `pattern`, and uniqueItems is
// linear, but composition is not bounded: `anyOf` of two `$ref`s to the level below, nested d
// levels (a 1.6 KiB schema), makes ajv try 2^d branches for an input that fails at the bottom.
// `$ref` sharing keeps ajv's compiled code small, so nothing at load notices.
import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import { createHost, type Host } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");

/** `anyOf` of two refs to the level below, `depth` levels over a string of at least 2 characters. */
function exponentialSchema(depth: number): Record<string, unknown> {
  const definitions: Record<string, unknown> = { s0: { type: "string", minLength: 2 } };
  for (let k = 1; k <= depth; k++) definitions[`s${k}`] = { anyOf: [{ $ref: `#/definitions/s${k - 1}` }, { $ref: `#/definitions/s${k - 1}` }] };
  return { definitions, $ref: `#/definitions/s${depth}` };
}

/** The longest the host's event loop was held while `run` ran, in ms. */
async function maxLagDuring(run: () => Promise<unknown>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  try {
    await run();
    await new Promise((r) => setTimeout(r, 30));
  } finally {
    h.disable();
  }
  return h.max / 1e6;
}

describe("outside: plugin-declared schemas whose composition is exponential hold the host's thread", () => {
  let s: Scratch;
  let host: Host;

  before(async () => {
    s = scratch();
    s.plugin("bomb", manifest("t.bomb", { entries: { go: { input: exponentialSchema(20) }, small: { input: exponentialSchema(3) } } }), {
      "index.js": "export const go = (x) => x; export const small = (x) => x;",
    });
    s.plugin("caller", manifest("t.caller", { permissions: { plugins: ["t.bomb"] } }), {
      "index.js": `export const attack = async (entry) => { try { return { ok: await Warden.plugins.call("t.bomb", entry, "x") }; } catch (e) { return { code: e.code }; } };`,
    });
    host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0, quarantine: { maxFailures: 1000 } });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  it("positive control: a valid input passes the deep schema at once; a bad input against a shallow one is BAD_INPUT at once", async () => {
    const lag = await maxLagDuring(async () => {
      assert.equal(await host.invoke("t.bomb", "go", "ok"), "ok");
      assert.deepEqual(await host.invoke("t.caller", "attack", "small"), { code: "BAD_INPUT" });
    });
    assert.ok(lag < 1000, `the host's event loop was held for ${lag.toFixed(0)} ms`);
  });

  it('another plugin sends "x" to an entry whose input schema is 20 levels of anyOf over $ref: the host\'s loop must not be held for seconds', async () => {
    let r: unknown;
    const lag = await maxLagDuring(async () => {
      r = await host.invoke("t.caller", "attack", "go");
    });
    assert.deepEqual(r, { code: "BAD_INPUT" });
    assert.ok(lag < 1000, `the host's event loop was held for ${lag.toFixed(0)} ms by one validation (2^20 branches; depth 30 is ~2 hours)`);
  });
});

describe("outside: a plugin's config schema of the same shape holds the host while it loads", () => {
  it("loadAll over a plugin whose config schema is 20 levels of anyOf over $ref, failing on the default {}: the host must not be held for seconds; a valid plugin beside it loads", async () => {
    const s = scratch();
    s.plugin("cfg-bomb", manifest("t.cfg-bomb", { config: exponentialSchema(20) }), { "index.js": "export const go = () => 1;" });
    s.plugin("fine", manifest("t.fine"), { "index.js": "export const go = () => 1;" });
    const host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0 });
    try {
      const lag = await maxLagDuring(() => host.loadAll());
      assert.equal(host.status().find((p) => p.id === "t.fine")?.state, "active", "positive control");
      assert.notEqual(host.status().find((p) => p.id === "t.cfg-bomb")?.state, "active");
      assert.ok(lag < 1000, `the host's event loop was held for ${lag.toFixed(0)} ms while loading one plugin's config schema`);
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});
