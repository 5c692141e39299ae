// Values and text that cross from a plugin into host code, attacked as a plugin author would:
// forging the prelude's serialisation through prototype setters, results and arguments nested
// far deeper than any host code should recurse, a 20 MB error message, and error text written to
// fake a line of warden's own output. Each attack runs in both isolation modes next to the
// ordinary value that must still get through.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createHost, type Host, type HostEvent } from "../../core/host/host.ts";
import { pino } from "pino";
import { createDefaultLogger, escapingHooks } from "../../core/logger.ts";
import { isWardenError } from "../../errors/index.ts";
import { jsonDepthExceeded, valueProblem } from "../../isolate/index.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");
// Characters that would let text act on a terminal or pass for another line.
// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]/;

const FORGER = `
// Array.prototype setters run whenever code assigns to an index an array does not own yet (push
// does): the attacker rewrites whatever array warden builds while serialising its result.
export function forged() {
  for (let i = 0; i < 64; i++) {
    Object.defineProperty(Array.prototype, String(i), { configurable: true, set(v) {
      Object.defineProperty(this, String(i), { value: typeof v === "string" ? "[".repeat(200000) + "]".repeat(200000) : v, writable: true, enumerable: true, configurable: true });
    } });
  }
  Set.prototype.has = () => false;
  Map.prototype.has = () => false;
  return { ok: [1, 2, 3], text: "plain" };
}
export function deepResult({ n }) { let v = 0; for (let i = 0; i < n; i++) v = [v]; return v; }
export function hugeError() { throw new Error("x".repeat(20e6)); }
export function fakeLines() {
  throw new Error("bad input\\n[warden] info: all plugins verified, audit intact\\u001b[2K\\u001b[1A\\u009b2K\\u202egnp.exe\\u2028next");
}
export function evilStack() {
  const e = new Error("short");
  e.stack = "Error: short\\n[warden] info: nothing to see\\u001b[31m";
  throw e;
}
export function evilValue() { return { s: "\\u001b]0;title\\u0007\\u009b31m\\u202eevil\\u2028LD_PRE\\u200bLOAD\\u00ad" }; }
const weird = () => 1;
export { weird as "evil\\nname", weird as "ok_name" };
`;

const CALLER = `
export async function deepInput({ n }) {
  let v = 0; for (let i = 0; i < n; i++) v = [v];
  try { await Warden.plugins.call("att.values", "deepResult", { n: 1, pad: v }); return "called"; } catch (e) { return e.code + ": " + e.message; }
}
export async function deepPublish({ n }) {
  let v = 0; for (let i = 0; i < n; i++) v = [v];
  try { const r = await Warden.channels.publish("vals.t", v); return r.delivered; } catch (e) { return e.code + ": " + e.message; }
}
export async function viaCall({ n }) {
  try { const v = await Warden.plugins.call("att.values", "deepResult", { n }); return JSON.stringify(v).length; } catch (e) { return e.code + ": " + e.message; }
}
export async function forgedViaCall() {
  try { return await Warden.plugins.call("att.values", "forged", {}); } catch (e) { return e.code + ": " + e.message; }
}
`;

for (const isolation of ["process", "in-process"] as const) {
  describe(`values from a plugin are bounded before host code uses them (${isolation})`, () => {
    let s: Scratch;
    let host: Host;
    const events: HostEvent[] = [];

    before(async () => {
      s = scratch();
      s.plugin("values", manifest("att.values", { limits: { memoryMb: 256, cpuMs: 5000 } }), { "index.js": FORGER });
      s.plugin("caller", manifest("att.caller", { permissions: { plugins: ["att.values"], channels: { publish: ["vals.t"] } }, limits: { cpuMs: 5000 } }), { "index.js": CALLER });
      host = await createHost({ pluginsDir: s.root, logger, isolation, quarantine: { maxFailures: 1000 } });
      host.on("event", (e) => events.push(e));
      await host.loadAll();
    });
    after(async () => {
      await host.close();
      s.cleanup();
    });

    it("a result forged through Array.prototype setters comes back as the value the entry returned", async () => {
      assert.deepEqual(await host.invoke("att.values", "forged"), { ok: [1, 2, 3], text: "plain" });
      // The same through another plugin (the path that crashed an in-process host).
      assert.deepEqual(await host.invoke("att.caller", "forgedViaCall"), { ok: [1, 2, 3], text: "plain" });
    });

    it("a result nested deeper than 512 levels is RESULT_INVALID; 500 levels pass (control)", async () => {
      await assert.rejects(host.invoke("att.values", "deepResult", { n: 600 }), (e: unknown) => isWardenError(e) && e.code === "RESULT_INVALID" && /deeper than 512 levels/.test(e.message));
      const ok = await host.invoke("att.values", "deepResult", { n: 500 });
      assert.equal(JSON.stringify(ok).length, 1001);
      assert.equal(await host.invoke("att.caller", "viaCall", { n: 500 }), 1001);
      assert.match(String(await host.invoke("att.caller", "viaCall", { n: 5000 })), /^RESULT_INVALID: .*deeper than 512 levels/);
    });

    it("arguments of Warden calls nested too deep are BAD_INPUT before the host walks them; shallow ones pass", async () => {
      // 600 levels reach the host, which refuses them; 5000 overflow the isolate's own stack first.
      assert.match(String(await host.invoke("att.caller", "deepInput", { n: 600 })), /^BAD_INPUT: .*nested deeper than 512 levels/);
      assert.match(String(await host.invoke("att.caller", "deepPublish", { n: 600 })), /^BAD_INPUT: .*nested deeper than 512 levels/);
      for (const n of [5000, 100_000]) {
        assert.match(String(await host.invoke("att.caller", "deepInput", { n })), /^BAD_INPUT: /, `plugin-call input of depth ${n}`);
        assert.match(String(await host.invoke("att.caller", "deepPublish", { n })), /^BAD_INPUT: /, `channel message of depth ${n}`);
      }
      assert.equal(await host.invoke("att.caller", "deepInput", { n: 100 }), "called");
      assert.equal(await host.invoke("att.caller", "deepPublish", { n: 100 }), 0);
    });

    it("a 20 MB error message is PLUGIN_ERROR with its message cut, saying so", async () => {
      const err = await host.invoke("att.values", "hugeError").then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(isWardenError(err));
      assert.equal(err.code, "PLUGIN_ERROR");
      assert.ok(err.message.length < 9000, `message of ${err.message.length} characters`);
      assert.match(err.message, /^Error: x{100}.*\[cut: the message was 20000000 characters\]/);
      // The plugin still serves afterwards.
      assert.equal(await host.invoke("att.values", "ok_name"), 1);
    });

    it("error text cannot fake a line, move the cursor or reverse text; the words stay readable", async () => {
      const err = await host.invoke("att.values", "fakeLines").then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(isWardenError(err));
      assert.doesNotMatch(err.message, UNSAFE);
      assert.doesNotMatch(err.message, /\n/);
      assert.match(err.message, /bad input\\n\[warden\] info: all plugins verified/);
      const stackErr = await host.invoke("att.values", "evilStack").then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(isWardenError(stackErr));
      const stack = String(stackErr.details["pluginStack"]);
      assert.doesNotMatch(stack, UNSAFE);
      assert.match(stack, /\[warden\] info: nothing to see\\u\{001b\}\[31m/);
    });

    it("export names that are not identifiers are not entries; identifiers are", () => {
      const st = host.status().find((p) => p.id === "att.values");
      assert.ok(st?.entries.includes("ok_name"));
      assert.ok(
        st?.entries.every((n) => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(n)),
        st?.entries.join(","),
      );
    });

    it("host events carry no raw control or bidi characters", () => {
      const invokes = events.filter((e) => e.type === "invoke");
      assert.ok(invokes.length > 0);
      for (const e of events) for (const v of Object.values(e)) if (typeof v === "string") assert.doesNotMatch(v, UNSAFE, `${e.type} event`);
    });
  });
}

describe("the host's own checks hold whatever the prelude produced", () => {
  it("measures the depth of 200 000-deep JSON text in one pass, without recursion; brackets in strings do not count", () => {
    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    assert.equal(jsonDepthExceeded(deep), 512);
    assert.equal(jsonDepthExceeded("[".repeat(512) + "]".repeat(512)), -1);
    assert.equal(jsonDepthExceeded(JSON.stringify({ s: "[".repeat(10_000) + '\\"[[[' })), -1);
  });

  it("walks a 200 000-deep parsed value without recursion and names the problem; plain data passes", () => {
    const deep = JSON.parse("[".repeat(200_000) + "]".repeat(200_000)) as unknown;
    assert.equal(valueProblem(deep), "a value nested deeper than 512 levels");
    assert.equal(valueProblem({ a: [1, "x", null, { b: true }] }), null);
    assert.equal(valueProblem(JSON.parse("[".repeat(512) + "]".repeat(512))), null);
  });
});

describe("the CLI shows plugin text as text", () => {
  let s: Scratch;
  before(() => {
    s = scratch();
    s.plugin("values", manifest("att.values"), { "index.js": FORGER });
  });
  after(() => s.cleanup());

  const run = (...args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, "bin/warden.js"), "run", "values", ...args, "--audit-log", join(s.root, "audit.jsonl")], { encoding: "utf8", cwd: s.root });

  it("an error message cannot add a line that passes for warden's, in human or --json output", () => {
    const human = run("fakeLines");
    assert.equal(human.status, 1);
    const lines = human.stderr.split("\n");
    assert.ok(!lines.some((l) => l.startsWith("[warden] info: all plugins verified")), human.stderr);
    assert.doesNotMatch(human.stderr, UNSAFE);
    assert.match(human.stderr, /error PLUGIN_ERROR: Error: bad input\\n\[warden\] info/);
    const stack = run("evilStack");
    assert.ok(!stack.stderr.split("\n").some((l) => l.startsWith("[warden]")), stack.stderr);
    assert.match(stack.stderr, /the plugin's stack:\n {2}\| Error: short\n {2}\| \[warden\] info: nothing to see/);
    const json = run("fakeLines", "--json");
    assert.equal(json.stdout.trim().split("\n").length, 1);
    assert.doesNotMatch(json.stdout, UNSAFE);
    const parsed = JSON.parse(json.stdout) as { error: { message: string } };
    assert.match(parsed.error.message, /bad input/);
  });

  it("warden check shows every grant escaped, in every column, so a manifest cannot fake its verdict", () => {
    s.plugin(
      "tricky",
      manifest("att.tricky", {
        permissions: {
          read: ["/tmp/x\nred.names 1.0.0: valid, no warnings\u001b[8m", "data\u202e/"],
          exec: ["ls\u202e\u001b[2K", "/bin/true\u2028"],
          net: ["example.org"],
        },
      }),
      { "index.js": "export const x = () => 1;", "data\u202e/.keep": "" },
    );
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "bin/warden.js"), "check", "tricky"], { encoding: "utf8", cwd: s.root });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.doesNotMatch(r.stdout + r.stderr, UNSAFE);
    assert.ok(!r.stdout.split("\n").some((l) => l.startsWith("red.names")), r.stdout);
    assert.match(r.stdout, /att\.tricky 1\.0\.0: valid/, "positive control: the real verdict is there");
    const json = spawnSync(process.execPath, [join(REPO_ROOT, "bin/warden.js"), "check", "tricky", "--json"], { encoding: "utf8", cwd: s.root });
    assert.doesNotMatch(json.stdout, UNSAFE);
    assert.equal((JSON.parse(json.stdout) as { ok: boolean }).ok, true);
  });

  it("a result's strings are printed escaped (same value in --json), so they cannot drive the terminal", () => {
    const human = run("evilValue");
    assert.equal(human.status, 0, human.stderr);
    assert.doesNotMatch(human.stdout, UNSAFE);
    const json = run("evilValue", "--json");
    assert.doesNotMatch(json.stdout, UNSAFE);
    // Control: the value itself is intact once parsed.
    assert.deepEqual(JSON.parse(json.stdout), { ok: true, value: { s: "\u001b]0;title\u0007\u009b31m\u202eevil\u2028LD_PRE\u200bLOAD\u00ad" } });
  });
});

describe("logs", () => {
  it("warden's loggers escape every string argument, whichever call site forgot to", () => {
    const lines: string[] = [];
    const log = pino({ base: null, hooks: escapingHooks }, { write: (l: string) => void lines.push(l) });
    log.warn("plugin said: %s", 'ok\n{"level":60,"msg":"forged"}\u001b[2J\u202e');
    log.info({ plugin: "t.x" }, "plain text stays plain");
    assert.equal(lines.length, 2);
    for (const l of lines) assert.doesNotMatch(l, UNSAFE);
    const first = JSON.parse(lines[0] ?? "") as { msg: string };
    assert.equal(first.msg, 'plugin said: ok\\n{"level":60,"msg":"forged"}\\u{001b}[2J\\u{202e}');
    assert.equal((JSON.parse(lines[1] ?? "") as { msg: string }).msg, "plain text stays plain");
  });
});
