// Outside attacker: a plugin author, who controls every file of the plugin's directory, attacking
// the module loader: reaching files outside the directory through its import graph, and making the
// host (or the engine shared with other plugins) hang, fill its memory or spend unbounded time
// resolving, reading, type-stripping and compiling modules before a single line of plugin code
// runs. Each refusal sits beside a positive control: the legitimate neighbour still loads.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createHost } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin } from "../../core/plugin.ts";
import { DEFAULTS } from "../../defaults/index.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");
let s: Scratch;
let n = 0;

beforeEach(() => {
  s = scratch();
});
afterEach(() => s.cleanup());

/** A plugin directory with `files` (and `links`); returns its path. */
function plugin(files: Record<string, string>, links: Record<string, string> = {}, extra: object = {}): string {
  n += 1;
  return s.plugin(`p${n}`, manifest(`evil.p${n}`, extra), files, links);
}

/** Load the plugin in the host's own process (the mode with no process boundary) and call `entry`. */
async function loadAndCall(dir: string, entry = "hello"): Promise<unknown> {
  const p = await loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation: "in-process" });
  try {
    return await p.invoke(entry);
  } finally {
    await p.close();
  }
}

/** The load's failure: its code and message (fails the test if it loaded). */
async function refusal(dir: string): Promise<{ code: string; message: string }> {
  try {
    await loadAndCall(dir);
  } catch (e) {
    return { code: String((e as { code?: unknown }).code), message: String((e as Error).message) };
  }
  return assert.fail("the plugin loaded");
}

const HELLO = `export const hello = () => "hi";`;

describe("outside: a plugin's imports reach only its own files", () => {
  it("positive control: relative imports, a directory index, a cycle, packages by exports, module and main, scoped, nested node_modules, TypeScript", async () => {
    const dir = plugin({
      "index.js": `import { a } from "./lib/a.js"; import { idx } from "./lib"; import { e } from "exp"; import { m } from "mod/sub.js"; import { sc } from "@scope/pkg"; import { t } from "./t.ts";
        export const hello = () => [a(), idx, e, m, sc, t].join(",");`,
      "lib/a.js": `import { b } from "./b.js"; export const a = () => "a" + b;`,
      "lib/b.js": `import { a } from "./a.js"; export const b = "b"; export const again = () => a();`,
      "lib/index.js": `export const idx = "idx";`,
      "node_modules/exp/package.json": JSON.stringify({ name: "exp", exports: { ".": { import: "./dist/e.js", require: "./cjs.cjs" } } }),
      "node_modules/exp/dist/e.js": `import { inner } from "inner"; export const e = "e" + inner;`,
      "node_modules/exp/node_modules/inner/package.json": JSON.stringify({ name: "inner", type: "module", main: "i.js" }),
      "node_modules/exp/node_modules/inner/i.js": `export const inner = "i";`,
      "node_modules/mod/package.json": JSON.stringify({ name: "mod", module: "m.js" }),
      "node_modules/mod/sub.js": `export const m = "m";`,
      "node_modules/@scope/pkg/package.json": JSON.stringify({ name: "@scope/pkg", type: "module", main: "./x.js" }),
      "node_modules/@scope/pkg/x.js": `export const sc = "sc";`,
      "t.ts": `export const t: string = "t";`,
    });
    assert.equal(await loadAndCall(dir), "ab,idx,ei,m,sc,t");
  });

  // Every spelling that names a file outside, each refused at load with PLUGIN_ERROR.
  const escapes: Array<[string, (other: string) => { files: Record<string, string>; links?: Record<string, string> }]> = [
    ["../other-plugin/index.js", () => ({ files: { "index.js": `import "../other/index.js"; ${HELLO}` } })],
    ["an absolute path", (other) => ({ files: { "index.js": `import ${JSON.stringify(join(other, "index.js"))}; ${HELLO}` } })],
    ["a file: URL", (other) => ({ files: { "index.js": `import ${JSON.stringify(`file://${join(other, "index.js")}`)}; ${HELLO}` } })],
    ["node:fs", () => ({ files: { "index.js": `import "node:fs"; ${HELLO}` } })],
    ["a bare built-in (fs)", () => ({ files: { "index.js": `import "fs"; ${HELLO}` } })],
    ["a data: URL", () => ({ files: { "index.js": `import "data:text/javascript,export default 1"; ${HELLO}` } })],
    ["percent-encoded ..", () => ({ files: { "index.js": `import "./%2e%2e/other/index.js"; ${HELLO}` } })],
    ["backslashes", () => ({ files: { "index.js": `import "..\\\\other\\\\index.js"; ${HELLO}` } })],
    ["a query suffix on ../", () => ({ files: { "index.js": `import "../other/index.js?x"; ${HELLO}` } })],
    ["#internal imports", () => ({ files: { "index.js": `import "#secret"; ${HELLO}`, "package.json": JSON.stringify({ imports: { "#secret": "../other/index.js" } }) } })],
    [
      "a package whose exports map points at ../../..",
      () => ({ files: { "index.js": `import "x"; ${HELLO}`, "node_modules/x/package.json": JSON.stringify({ exports: { ".": "./../../../other/index.js" } }) } }),
    ],
    [
      "a package whose exports pattern's target leaves it",
      () => ({ files: { "index.js": `import "x/index.js"; ${HELLO}`, "node_modules/x/package.json": JSON.stringify({ exports: { "./*": "../../../other/*" } }) } }),
    ],
    ["a package whose main is ../../..", () => ({ files: { "index.js": `import "x"; ${HELLO}`, "node_modules/x/package.json": JSON.stringify({ type: "module", main: "../../../other/index.js" }) } })],
    ["a package whose module is absolute", (other) => ({ files: { "index.js": `import "x"; ${HELLO}`, "node_modules/x/package.json": JSON.stringify({ module: join(other, "index.js") }) } })],
    ["a package specifier with ..", () => ({ files: { "index.js": `import "x/../../../other/index.js"; ${HELLO}`, "node_modules/x/package.json": "{}" } })],
    ["node_modules/x linked to another plugin", (other) => ({ files: { "index.js": `import "x"; ${HELLO}` }, links: { "node_modules/x": other } })],
    ["node_modules/x linked to /etc, importing x/passwd", () => ({ files: { "index.js": `import "x/passwd"; ${HELLO}` }, links: { "node_modules/x": "/etc" } })],
    ["node_modules linked to the plugins directory", () => ({ files: { "index.js": `import "other"; ${HELLO}` }, links: { node_modules: ".." } })],
    ["a module file linked to another plugin's", (other) => ({ files: { "index.js": `import "./lib.js"; ${HELLO}` }, links: { "lib.js": join(other, "index.js") } })],
    ["a directory linked outside", () => ({ files: { "index.js": `import "./lib/index.js"; ${HELLO}` }, links: { lib: "../other" } })],
  ];
  for (const [what, make] of escapes) {
    it(`refuses ${what}`, async () => {
      const other = s.plugin("other", manifest("victim.other"), { "index.js": `export const secret = "SECRET";` });
      const { files, links } = make(other);
      const r = await refusal(plugin(files, links ?? {}));
      assert.equal(r.code, "PLUGIN_ERROR", r.message);
      assert.doesNotMatch(r.message, /SECRET/);
    });
  }

  it("a module or package.json that is a FIFO, /dev/zero or a directory: refused by name, never read", async () => {
    const fifoModule = plugin({ "index.js": `import "./a.js"; ${HELLO}` });
    execFileSync("mkfifo", [join(fifoModule, "a.js")]);
    const fifoPackage = plugin({ "index.js": `import "x"; ${HELLO}`, "node_modules/x/index.js": "export {}" });
    execFileSync("mkfifo", [join(fifoPackage, "node_modules/x/package.json")]);
    const zeroPackage = plugin({ "index.js": `import "x"; ${HELLO}`, "node_modules/x/index.js": "export {}" });
    symlinkSync("/dev/zero", join(zeroPackage, "node_modules/x/package.json"));
    const dirPackage = plugin({ "index.js": `import "x"; ${HELLO}`, "node_modules/x/index.js": "export {}", "node_modules/x/package.json/y": "" });
    for (const dir of [fifoModule, fifoPackage, zeroPackage, dirPackage]) {
      const r = await refusal(dir);
      assert.equal(r.code, "PLUGIN_ERROR", r.message);
    }
    assert.match((await refusal(fifoPackage)).message, /not a regular file/);
    assert.match((await refusal(zeroPackage)).message, /outside the plugin|not a regular file/);
  });

  it("TypeScript neighbours: .mts loads, .cts (CommonJS) and .tsx (JSX, which stripping cannot erase) are refused by name", async () => {
    assert.equal(await loadAndCall(plugin({ "index.js": `import { v } from "./a.mts"; export const hello = () => v;`, "a.mts": `export const v: string = "mts";` })), "mts");
    for (const name of ["a.cts", "a.tsx"]) {
      const r = await refusal(plugin({ "index.js": `import "./${name}"; ${HELLO}`, [name]: "export const v: string = 'x';" }));
      assert.equal(r.code, "PLUGIN_ERROR");
      assert.match(r.message, new RegExp(name.replace(".", "\\.")));
    }
  });

  it("a package directory linked outside is refused before anything in it is read (its package.json included)", async () => {
    const outside = join(s.root, "outside-pkg");
    mkdirSync(outside);
    writeFileSync(join(outside, "package.json"), "{ not json");
    const r = await refusal(plugin({ "index.js": `import "x"; ${HELLO}` }, { "node_modules/x": outside }));
    assert.equal(r.code, "PLUGIN_ERROR");
    assert.match(r.message, /outside the plugin directory/);
    assert.doesNotMatch(r.message, /not valid JSON/, "the package.json outside was read");
  });
});

describe("outside: the cost of loading a plugin's modules is bounded", () => {
  const M = DEFAULTS.modules;

  it("positive control: a module of 1 MiB and 200 modules load", async () => {
    const files: Record<string, string> = { "index.js": `import "./big.js"; ${Array.from({ length: 200 }, (_, i) => `import "./m/${i}.js";`).join("\n")}\n${HELLO}` };
    files["big.js"] = `export const big = 1;\n//${"a".repeat(2 ** 20)}\n`;
    for (let i = 0; i < 200; i++) files[`m/${i}.js`] = `export const x${i} = ${i};`;
    assert.equal(await loadAndCall(plugin(files)), "hi");
  });

  it(`a module larger than ${M.fileBytes} bytes is refused before it is read whole`, async () => {
    const r = await refusal(plugin({ "index.js": `import "./big.js"; ${HELLO}`, "big.js": `//${"a".repeat(M.fileBytes)}\n` }));
    assert.equal(r.code, "PLUGIN_ERROR");
    assert.match(r.message, /big\.js.*bytes/);
  });

  it(`modules adding up to more than ${M.totalBytes} bytes are refused`, async () => {
    const count = Math.ceil(M.totalBytes / (M.fileBytes - 1024)) + 1;
    const files: Record<string, string> = { "index.js": `${Array.from({ length: count }, (_, i) => `import "./b${i}.js";`).join("\n")}\n${HELLO}` };
    const body = `//${"a".repeat(M.fileBytes - 1024)}\n`;
    for (let i = 0; i < count; i++) files[`b${i}.js`] = body;
    // A heap big enough to compile them all: the bound, not the isolate's memory limit, refuses.
    const r = await refusal(plugin(files, {}, { limits: { memoryMb: 512 } }));
    assert.equal(r.code, "PLUGIN_ERROR", r.message);
    assert.match(r.message, /add up to more than/);
  });

  it(`more than ${M.count} modules are refused`, async () => {
    const files: Record<string, string> = { "index.js": `${Array.from({ length: M.count }, (_, i) => `import "./m/${i}.js";`).join("\n")}\n${HELLO}` };
    for (let i = 0; i < M.count; i++) files[`m/${i}.js`] = "export {};";
    const r = await refusal(plugin(files));
    assert.equal(r.code, "PLUGIN_ERROR");
    assert.match(r.message, new RegExp(`${M.count} modules`));
  });

  it(`an import chain deeper than ${M.depth} modules is refused by name, not by the stack`, async () => {
    const files: Record<string, string> = { "index.js": `import "./c0.js"; ${HELLO}` };
    const depth = M.depth + 5;
    for (let i = 0; i < depth; i++) files[`c${i}.js`] = i + 1 < depth ? `import "./c${i + 1}.js";` : "export {};";
    const r = await refusal(plugin(files));
    assert.equal(r.code, "PLUGIN_ERROR");
    assert.match(r.message, /deeper than/);
    const ok: Record<string, string> = { "index.js": `import "./c0.js"; ${HELLO}` };
    for (let i = 0; i < 100; i++) ok[`c${i}.js`] = i + 1 < 100 ? `import "./c${i + 1}.js";` : "export {};";
    assert.equal(await loadAndCall(plugin(ok)), "hi");
  });

  it(`a TypeScript file over ${M.typeScriptFileBytes} bytes is refused before it is stripped (amaro: ~1.5 s and ~30 MB of memory per MB that it never returns)`, async () => {
    const unit = "export const v0: number = 1;\n";
    const big = unit.repeat(Math.ceil((M.typeScriptFileBytes + 1) / unit.length));
    const r = await refusal(plugin({ "index.ts": `import "./big.ts"; export const hello = (): string => "hi";`, "big.ts": big }, {}, { main: "index.ts" }));
    assert.equal(r.code, "PLUGIN_ERROR");
    assert.match(r.message, /big\.ts.*TypeScript/);
  });

  it("pathological TypeScript (nesting 100 000 deep) fails that plugin only: the stripper still serves the next plugin", async () => {
    const deep = `export const x: number = ${"(".repeat(100_000)}1${")".repeat(100_000)};\n${HELLO}`;
    const r = await refusal(plugin({ "index.ts": deep }, {}, { main: "index.ts" }));
    assert.equal(r.code, "PLUGIN_ERROR");
    assert.equal(await loadAndCall(plugin({ "index.ts": `export const hello = (): string => "still " + ("stripped" as string);` }, {}, { main: "index.ts" })), "still stripped");
  });

  it("two plugins shipping different TypeScript of the same length and name each run their own (no shared compiled output)", async () => {
    const a = plugin({ "index.ts": `export const hello = (): string => "aaaa";` }, {}, { main: "index.ts" });
    const b = plugin({ "index.ts": `export const hello = (): string => "bbbb";` }, {}, { main: "index.ts" });
    for (let i = 0; i < 3; i++) {
      assert.equal(await loadAndCall(a), "aaaa");
      assert.equal(await loadAndCall(b), "bbbb");
    }
  });

  it("a stack trace names the plugin's files by their path inside the plugin, never the host's", async () => {
    const dir = plugin(
      { "index.ts": `import { boom } from "./lib/boom.ts"; export const hello = (): string => boom();`, "lib/boom.ts": `export function boom(): never { throw new Error("x"); }` },
      {},
      { main: "index.ts" },
    );
    const p = await loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation: "in-process" });
    try {
      const e = (await p.invoke("hello").catch((err: unknown) => err)) as { stack?: string; message: string };
      const text = `${e.message}\n${e.stack ?? ""}`;
      assert.match(text, /lib\/boom\.ts:1:/);
      assert.doesNotMatch(text, new RegExp(s.root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), "the stack names a host path");
    } finally {
      await p.close();
    }
  });
});

describe("outside: a plugin whose package.json is a FIFO does not hold up the engine it shares", () => {
  it("its load fails at once with PLUGIN_ERROR; a co-tenant keeps answering, never ENGINE_RESTARTED", async () => {
    s.plugin("plugins/good", manifest("ok.good"), { "index.js": HELLO });
    const host = await createHost({ pluginsDir: join(s.root, "plugins"), logger, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      // Added once the host runs, into the engine ok.good is in (neither has a grant that isolates it).
      const bad = s.plugin("plugins/bad", manifest("evil.fifo"), { "index.js": `import "x"; ${HELLO}`, "node_modules/x/index.js": "export {}" });
      execFileSync("mkfifo", [join(bad, "node_modules/x/package.json")]);
      assert.equal(await host.invoke("ok.good", "hello"), "hi");
      const loading = host.load(bad).then(
        () => null,
        (e: unknown) => e as { code?: string; message: string },
      );
      const answers = await Promise.all([host.invoke("ok.good", "hello"), host.invoke("ok.good", "hello")]);
      assert.deepEqual(answers, ["hi", "hi"]);
      const e = await loading;
      assert.equal(e?.code, "PLUGIN_ERROR", e?.message);
      assert.match(e?.message ?? "", /not a regular file/);
      assert.equal(await host.invoke("ok.good", "hello"), "hi");
    } finally {
      await host.close();
    }
  });
});
