// Escapes a plugin author would try, each with the normal use that must keep working.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

let s: Scratch;
let plugin: PluginHandle;
const logger = createDefaultLogger("silent");

const source = `
export function probe() {
  const seen = {};
  seen.process = typeof process;
  seen.require = typeof require;
  seen.module = typeof module;
  seen.WebAssembly = typeof WebAssembly;
  seen.SharedArrayBuffer = typeof SharedArrayBuffer;
  seen.Atomics = typeof Atomics;
  seen.viaFunction = Function('return typeof process + typeof require')();
  seen.viaConstructor = this === undefined ? ({}).constructor.constructor('return typeof process')() : 'x';
  seen.viaWarden = Warden.fs.readTextFile.constructor('return [typeof process, typeof require, Object.getOwnPropertyNames(globalThis).length]')();
  seen.wardenProto = Object.getPrototypeOf(Warden.fs.readTextFile) === Function.prototype;
  seen.viaPromise = Warden.permissions.query({ name: 'read' }).constructor === Promise;
  seen.evalWorks = eval('1 + 1');
  return seen;
}
export async function deniedErrorShape() {
  try { await Warden.fs.readTextFile('/etc/passwd'); return 'read!'; }
  catch (e) { return { name: e.name, code: e.code, isError: e instanceof Error, ctorIsLocal: e.constructor.constructor('return typeof process')() }; }
}
export async function dynamicImport(spec) { try { await import(spec); return 'imported'; } catch (e) { return e.message; } }
export function ok() { return 'fine'; }
`;

describe("isolate confinement", () => {
  before(async () => {
    s = scratch();
    const dir = s.plugin("probe", manifest("test.probe"), { "index.js": source });
    plugin = await loadPlugin(dir, { audit: memoryAuditLog(), logger });
  });
  after(async () => {
    await plugin.close();
    s.cleanup();
  });

  it("reaches no Node API through globals, constructors or Warden functions; eval works", async () => {
    assert.deepEqual(await plugin.invoke("probe"), {
      process: "undefined",
      require: "undefined",
      module: "undefined",
      WebAssembly: "undefined",
      SharedArrayBuffer: "undefined",
      Atomics: "undefined",
      viaFunction: "undefinedundefined",
      viaConstructor: "undefined",
      viaWarden: ["undefined", "undefined", ((await plugin.invoke("probe")) as { viaWarden: unknown[] }).viaWarden[2]],
      wardenProto: true,
      viaPromise: true,
      evalWorks: 2,
    });
  });

  it("denial errors are plain errors of the isolate (PermissionDenied / PERMISSION_DENIED)", async () => {
    assert.deepEqual(await plugin.invoke("deniedErrorShape"), { name: "PermissionDenied", code: "PERMISSION_DENIED", isError: true, ctorIsLocal: "undefined" });
  });

  it("dynamic import() fails, whatever the specifier (node:fs, ../outside.js, ./ok.js)", async () => {
    for (const spec of ["node:fs", "../outside.js", "./index.js", "data:text/javascript,export default 1"]) {
      assert.match(String(await plugin.invoke("dynamicImport", spec)), /not supported/i);
    }
    assert.equal(await plugin.invoke("ok"), "fine");
  });
});

describe("static imports are confined to the plugin directory", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["node-builtin", `import fs from 'node:fs'; export const x = () => 1;`, /imports "node:fs": Node built-in modules are not available/],
    ["parent", `import x from '../outside.js'; export const y = () => x;`, /imports "\.\.\/outside\.js", which is outside the plugin directory/],
    ["absolute", `import x from '/etc/passwd'; export const y = () => x;`, /absolute paths are not allowed/],
    ["url", `import x from 'https://evil.example/x.js'; export const y = () => x;`, /URL imports are not allowed/],
    ["file-url", `import x from 'file:///etc/passwd'; export const y = () => x;`, /URL imports are not allowed/],
    ["missing-pkg", `import x from 'left-pad'; export const y = () => x;`, /package "left-pad" is not installed/],
    ["cjs-pkg", `import x from 'cjs'; export const y = () => x;`, /package "cjs" is CommonJS only/],
    ["symlink-out", `import x from './link.js'; export const y = () => x;`, /resolves outside the plugin directory/],
  ];
  let sc: Scratch;
  before(() => {
    sc = scratch();
  });
  after(() => sc.cleanup());

  for (const [name, code, expect] of cases) {
    it(`refuses ${name} with PLUGIN_ERROR naming the specifier`, async () => {
      const dir = sc.plugin(
        name,
        manifest(`test.${name}`),
        {
          "index.js": code,
          "node_modules/cjs/package.json": JSON.stringify({ name: "cjs", main: "index.js" }),
          "node_modules/cjs/index.js": "module.exports = 1;",
        },
        { "link.js": "/etc/hostname" },
      );
      await assert.rejects(loadPlugin(dir, { audit: memoryAuditLog(), logger }), (e: Error & { code?: string }) => {
        assert.equal(e.code, "PLUGIN_ERROR");
        assert.match(e.message, expect);
        return true;
      });
    });
  }

  it("positive control: relative files and an ESM package via exports (import condition) load", async () => {
    const dir = sc.plugin("good", manifest("test.good"), {
      "index.js": `import { twice } from './lib/math.js'; import pad from 'esm-pad'; import { sub } from 'esm-pad/sub'; export const run = (n) => pad(String(twice(n))) + sub;`,
      "lib/math.js": "export const twice = (n) => n * 2;",
      "node_modules/esm-pad/package.json": JSON.stringify({ name: "esm-pad", exports: { ".": { require: "./cjs.js", import: "./esm.js" }, "./sub": "./sub.js" } }),
      "node_modules/esm-pad/esm.js": "export default (s) => s.padStart(4, '0');",
      "node_modules/esm-pad/cjs.js": "module.exports = 1;",
      "node_modules/esm-pad/sub.js": "export const sub = '!';",
    });
    const p = await loadPlugin(dir, { audit: memoryAuditLog(), logger });
    try {
      assert.equal(await p.invoke("run", 21), "0042!");
    } finally {
      await p.close();
    }
  });
});

describe("isolate confinement under host flags", () => {
  it("a host running with --expose-gc does not break the lockdown, and the plugin gets no gc()", async () => {
    const { spawnSync } = await import("node:child_process");
    const sandboxUrl = new URL("../../isolate/index.js", import.meta.url).href;
    const { tmpdir } = await import("node:os");
    const dir = tmpdir();
    const code = `
      import { Sandbox } from ${JSON.stringify(sandboxUrl)};
      import { mkdtempSync, writeFileSync } from "node:fs";
      import { join } from "node:path";
      const d = mkdtempSync(join(${JSON.stringify(dir)}, "warden-gc-"));
      writeFileSync(join(d, "index.js"), "export const probe = () => typeof gc + ',' + (typeof gc === 'function' ? 'callable' : 'not callable');");
      const s = Sandbox.create({ pluginId: "t.gc", version: "1.0.0", pluginDir: d, main: "index.js", config: null,
        limits: { memoryMb: 32, cpuMs: 1000, timeoutMs: 2000, resultChars: 1000 }, operation: async () => null, log: () => {} });
      console.log(await s.call("probe", undefined));
      s.dispose();
      (await import("node:fs")).rmSync(d, { recursive: true, force: true });`;
    const r = spawnSync(process.execPath, ["--no-node-snapshot", "--expose-gc", "--input-type=module", "-e", code], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "undefined,not callable");
  });
});

describe("dynamic import() reaching the host", () => {
  it("an uncaught import() failure names dynamic import and says what to do instead", async () => {
    const s = scratch();
    const dir = s.plugin("dyn", manifest("test.dyn"), { "index.js": "export async function load() { return (await import('./other.js')).x; }", "other.js": "export const x = 1;" });
    const p = await loadPlugin(dir, { audit: memoryAuditLog(), logger });
    try {
      await assert.rejects(p.invoke("load"), (e: Error & { code?: string }) => {
        assert.equal(e.code, "PLUGIN_ERROR");
        assert.match(e.message, /Not supported: dynamic import\(\) is not available to warden plugins; load code with a static import/);
        return true;
      });
    } finally {
      await p.close();
      s.cleanup();
    }
  });
});
