// A bug in warden's own code while it serves a plugin is reported as warden's: logged with its
// stack, the plugin's call failed with an error that names warden (PLUGIN_ERROR, details.wardenBug),
// and the isolate kept in service. It used to be answered as "not served" by a catch-all, which left
// the plugin waiting until its TIMEOUT disposed the isolate. The bugs are injected on the host side:
// a host operation that throws instead of rejecting, and a host timer that cannot be started.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Sandbox, type PluginLogLevel } from "../../isolate/index.ts";
import { scratch, type Scratch } from "../helpers/plugin-dir.ts";

const source = `
export async function read() { try { return await Warden.fs.readTextFile("a.txt"); } catch (e) { return "caught " + e.code; } }
export async function nap() { await new Promise((r) => setTimeout(r, 7)); return "rested"; }
export async function hang() { await new Promise(() => {}); }
export function ok() { return "ok"; }
`;

/** The marker delay of the plugin's nap(): the host timer for it is the one the tests break. */
const NAP_MS = 7;

let s: Scratch;
let dir: string;

/** What the sandbox logged, and the injected bugs still armed. */
type Harness = { sandbox: Sandbox; logs: Array<{ level: PluginLogLevel; text: string }>; bugs: { operation: boolean } };

function harness(): Harness {
  const logs: Array<{ level: PluginLogLevel; text: string }> = [];
  const bugs = { operation: false };
  const sandbox = Sandbox.create({
    pluginId: "test.bugs",
    version: "1.0.0",
    pluginDir: dir,
    main: "index.js",
    config: null,
    limits: { memoryMb: 32, cpuMs: 1000, timeoutMs: 2000, resultChars: 10_000 },
    operation: (op) => {
      if (bugs.operation) {
        bugs.operation = false;
        // A host operation must return a promise; throwing instead is a bug in warden.
        throw new Error(`boom in the host while serving ${op}`);
      }
      return Promise.resolve("file text");
    },
    log: (level, text) => logs.push({ level, text }),
  });
  return { sandbox, logs, bugs };
}

/** Asserts that `p` fails with the error naming warden's bug, not the plugin, carrying `cause`. */
async function failsAsWardenBug(p: Promise<unknown>, name: string, cause: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error & { code?: string; details?: Record<string, unknown> }) => {
    assert.equal(e.code, "PLUGIN_ERROR", e.message);
    assert.match(e.message, new RegExp(`^plugin test\\.bugs: ${name}\\(\\) failed because of a bug in warden, not in the plugin`));
    assert.match(e.message, cause);
    assert.equal(e.details?.["wardenBug"], true);
    return true;
  });
}

/** Asserts that the sandbox logged one error naming warden, with `cause` and a stack frame of this file. */
function loggedWithStack(logs: Harness["logs"], cause: RegExp): void {
  const bugs = logs.filter((l) => l.level === "error" && l.text.startsWith("warden internal error (a bug in warden, not in plugin test.bugs)"));
  assert.equal(bugs.length, 1, JSON.stringify(logs));
  assert.match(bugs[0]?.text ?? "", cause);
  assert.match(bugs[0]?.text ?? "", /\n\s+at .*host-bugs\.test\.js/, "the log carries warden's stack");
}

describe("a bug in warden while serving a plugin", () => {
  before(() => {
    s = scratch();
    dir = s.plugin("bugs", {}, { "index.js": source });
  });
  after(() => s.cleanup());

  it("positive control: unbroken, the calls answer", async () => {
    const h = harness();
    try {
      assert.equal(await h.sandbox.call("read", undefined), "file text");
      assert.equal(await h.sandbox.call("nap", undefined), "rested");
      assert.deepEqual(h.logs, []);
    } finally {
      h.sandbox.dispose();
    }
  });

  it("a host operation that throws: the call fails naming warden (even though the plugin catches), the stack is logged, the isolate answers the next call", async () => {
    const h = harness();
    try {
      h.bugs.operation = true;
      await failsAsWardenBug(h.sandbox.call("read", undefined), "read", /boom in the host while serving fs\.readTextFile/);
      loggedWithStack(h.logs, /boom in the host while serving fs\.readTextFile/);
      assert.equal(h.sandbox.isUsable, true);
      assert.equal(h.sandbox.condemnedBy, null);
      assert.equal(await h.sandbox.call("read", undefined), "file text");
      assert.equal(await h.sandbox.call("ok", undefined), "ok");
    } finally {
      h.sandbox.dispose();
    }
  });

  it("a host timer that cannot be started: the call fails at once naming warden, not as the plugin's TIMEOUT; the isolate stays", async () => {
    const h = harness();
    const realSetTimeout = globalThis.setTimeout;
    let armed = true;
    // Only the host timer for the plugin's nap() breaks, once; every other timer is Node's own.
    globalThis.setTimeout = ((fn: () => void, ms?: number, ...rest: unknown[]) => {
      if (armed && ms === NAP_MS) {
        armed = false;
        throw new Error("boom: the host could not start a timer");
      }
      return Reflect.apply(realSetTimeout, globalThis, [fn, ms, ...rest]) as NodeJS.Timeout;
    }) as typeof setTimeout;
    try {
      const started = performance.now();
      await failsAsWardenBug(h.sandbox.call("nap", undefined, { timeoutMs: 1500 }), "nap", /boom: the host could not start a timer/);
      assert.ok(performance.now() - started < 1000, "failed at once, not after the call's timeoutMs");
      assert.equal(armed, false, "the injected bug was hit");
      loggedWithStack(h.logs, /boom: the host could not start a timer/);
      assert.equal(h.sandbox.isUsable, true);
      assert.equal(await h.sandbox.call("nap", undefined), "rested");
    } finally {
      globalThis.setTimeout = realSetTimeout;
      h.sandbox.dispose();
    }
  });

  it("positive control: a plugin that never settles is still the plugin's TIMEOUT, and that condemns its isolate", async () => {
    const h = harness();
    try {
      await assert.rejects(h.sandbox.call("hang", undefined, { timeoutMs: 200 }), (e: Error & { code?: string }) => {
        assert.equal(e.code, "TIMEOUT", e.message);
        assert.doesNotMatch(e.message, /bug in warden/);
        return true;
      });
      assert.equal(h.sandbox.isUsable, false);
      assert.equal(h.sandbox.condemnedBy?.code, "TIMEOUT");
      assert.deepEqual(h.logs, []);
    } finally {
      h.sandbox.dispose();
    }
  });
});
