// warden/plugin (types/plugin.d.ts) kept honest: every example plugin and both `warden new`
// templates type-check against it; code that misuses the API or reaches for Node does not (so the
// declarations are really in force); and the globals and Warden members it declares are exactly
// the ones a plugin finds at run time.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import ts from "typescript";
import { memoryAuditLog } from "../core/audit/audit-log.ts";
import { scaffoldPlugin } from "../core/cli/new-plugin.ts";
import { createDefaultLogger } from "../core/logger.ts";
import { loadPlugin } from "../core/plugin.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "./helpers/plugin-dir.ts";

const TYPES = join(REPO_ROOT, "types/plugin.d.ts");
const EXAMPLES = join(REPO_ROOT, "examples/plugins");

function moduleFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === "node_modules") continue;
    if (statSync(p).isDirectory()) out.push(...moduleFiles(p));
    else if (/\.m?[jt]s$/.test(name) && !name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

/** The options a plugin is checked with when it has no tsconfig.json of its own: the isolate's world (ES2023 + warden/plugin), JavaScript checked too. */
const PLUGIN_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ["lib.es2023.d.ts"],
  types: [],
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  allowJs: true,
  checkJs: true,
  allowImportingTsExtensions: true,
  noEmit: true,
  paths: { "warden/plugin": [TYPES] },
};

function diagnostics(files: string[], options: ts.CompilerOptions): string[] {
  const program = ts.createProgram([...files, TYPES], options);
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ""}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

function checkWithTsconfig(dir: string): string[] {
  const file = join(dir, "tsconfig.json");
  const read = ts.readConfigFile(file, (p) => readFileSync(p, "utf8"));
  assert.equal(read.error, undefined, `${file} is readable`);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(file));
  assert.deepEqual(parsed.errors, [], `${file} is valid`);
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

describe("warden/plugin declarations", () => {
  let s: Scratch;
  before(() => {
    s = scratch();
  });
  after(() => s.cleanup());

  it("every example plugin type-checks against them (TypeScript ones with their own strict tsconfig)", () => {
    const names = readdirSync(EXAMPLES);
    assert.ok(names.includes("wordcount"), "the TypeScript example is among them");
    for (const name of names) {
      const dir = join(EXAMPLES, name);
      const problems = readdirSync(dir).includes("tsconfig.json") ? checkWithTsconfig(dir) : diagnostics(moduleFiles(dir), PLUGIN_OPTIONS);
      assert.deepEqual(problems, [], `examples/plugins/${name}`);
    }
  });

  it("both `warden new` templates type-check with the tsconfig.json they come with", () => {
    for (const typescript of [true, false]) {
      const made = scaffoldPlugin({ dir: join(s.root, typescript ? "new-ts" : "new-js"), typescript });
      assert.deepEqual(checkWithTsconfig(made.dir), [], made.dir);
    }
  });

  it("misuse is a type error: wrong arguments, unknown members, Node's globals, a DOM API, a non-JSON-safe exec option", () => {
    const dir = join(s.root, "misuse");
    const bad = s.plugin("misuse", manifest("test.misuse"), {
      "index.ts": [
        "export async function a() { return Warden.fs.readTextFile(42); }",
        "export async function b() { return Warden.fs.readFile('x'); }",
        "export function c() { return process.env; }",
        "export function d() { return document.title; }",
        "export async function e() { return Warden.exec('ls', ['-l'], { shell: true }); }",
        "export async function f() { const r = await fetch('https://x.org'); return r.body; }",
        "export function g() { return require('fs'); }",
        "",
      ].join("\n"),
    });
    const problems = diagnostics(moduleFiles(bad), { ...PLUGIN_OPTIONS, strict: true });
    const lines = problems.map((p) => Number(/:(\d+): /.exec(p)?.[1]));
    assert.deepEqual([...new Set(lines)].sort(), [1, 2, 3, 4, 5, 6, 7], problems.join("\n"));
    assert.ok(dir.length > 0);
  });

  it("the right use of every member type-checks (control for the misuse above)", () => {
    const good = s.plugin("gooduse", manifest("test.gooduse"), {
      "index.ts": `import type { EntryContext, WardenError, ChannelMessage } from "warden/plugin";
declare global { interface PluginConfig { service: string } }
export async function all(input: { n: number }, context: EntryContext): Promise<unknown> {
  const text: string = await Warden.fs.readTextFile("data/x.txt");
  await Warden.fs.writeTextFile("data/y.txt", text, { append: true });
  const entries = await Warden.fs.readDir("data");
  const info = await Warden.fs.stat("data/x.txt");
  await Warden.fs.mkdir("data/a", { recursive: true });
  await Warden.fs.remove("data/a", { recursive: true });
  const run = await Warden.exec("git", ["status"], { cwd: "repo", env: { GIT_AUTHOR_NAME: "bot" }, stdin: "" });
  const key: string | undefined = await Warden.env.get("KEY");
  const { delivered } = await Warden.channels.publish("chat.reply", { text });
  const sub = await Warden.channels.subscribe<{ text: string }>("chat.message", (m: ChannelMessage<{ text: string }>) => { console.log(m.data.text.length, m.from, m.dropped); });
  await sub.unsubscribe();
  const q = await Warden.permissions.query({ name: "net", host: "api.example.org" });
  const other = await Warden.plugins.call<{ ok: boolean }>("acme.geo", "lookup", { city: "Oslo" });
  const service: string = Warden.config.service;
  const url = new URL("/v1", service);
  url.searchParams.set("n", String(input.n));
  const res = await fetch(url, { method: "POST", headers: new Headers({ accept: "application/json" }), body: new URLSearchParams({ a: "1" }), redirect: "manual" });
  const data: unknown = res.ok ? await res.json() : await res.text();
  const id = setTimeout(() => undefined, 10);
  clearTimeout(id);
  const every = setInterval(() => undefined, 10);
  clearInterval(every);
  queueMicrotask(() => undefined);
  const controller = new AbortController();
  controller.signal.addEventListener("abort", (e: Event) => console.log(e.type), { once: true });
  const aborted = await fetch(url, { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(1000)]) }).catch((e: DOMException) => e.name);
  const b64: string = btoa(atob("aGk="));
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const decoded = new TextDecoder().decode(new TextEncoder().encode("é"));
  try { await Warden.env.get("NOPE"); } catch (e) { if ((e as WardenError).code === "PERMISSION_DENIED") console.warn("denied"); }
  return { caller: context.caller, entries: entries.length, size: info.size, code: run.code, key, delivered, q: q.state, other: other.ok, data, bytes: bytes.length, decoded, uuid: crypto.randomUUID(), clone: structuredClone({ a: 1 }), plugin: Warden.plugin.id, aborted, b64 };
}
`,
    });
    assert.deepEqual(diagnostics(moduleFiles(good), { ...PLUGIN_OPTIONS, strict: true }), []);
  });

  it("declare exactly the globals and Warden members a plugin finds at run time", async () => {
    const dir = s.plugin("probe", manifest("test.types-probe"), {
      "index.js": `const WARDENS = ["Headers", "Response", "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "Event", "EventTarget", "DOMException", "AbortController", "AbortSignal"];
const STANDARD = new Set(Object.getOwnPropertyNames(globalThis).filter((n) => /^[A-Z]/.test(n) && typeof globalThis[n] === "function" && !WARDENS.includes(n)));
export function probe() {
  const walk = (o) => Object.fromEntries(Object.keys(o).map((k) => [k, o[k] !== null && typeof o[k] === "object" && k !== "config" ? walk(o[k]) : typeof o[k]]));
  return { globals: Object.getOwnPropertyNames(globalThis).filter((n) => !STANDARD.has(n)).sort(), warden: walk(Warden) };
}`,
    });
    const plugin = await loadPlugin(dir, { audit: memoryAuditLog(), logger: createDefaultLogger("silent"), isolation: "in-process" });
    let runtime: { globals: string[]; warden: Record<string, unknown> };
    try {
      runtime = (await plugin.invoke("probe")) as typeof runtime;
    } finally {
      await plugin.close();
    }
    // What the declarations put in the global scope, beyond ES2023's own.
    const program = ts.createProgram([TYPES], { ...PLUGIN_OPTIONS, noLib: false });
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(TYPES)!;
    const declared = new Set<string>();
    ts.forEachChild(source, (node) => {
      if (ts.isModuleDeclaration(node) && node.name.text === "global" && node.body && ts.isModuleBlock(node.body)) {
        for (const st of node.body.statements) {
          if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) declared.add(d.name.getText(source));
          else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) declared.add(st.name.text);
        }
      }
    });
    const ecmaGlobals = new Set(
      checker
        .getSymbolsInScope(source, ts.SymbolFlags.Value)
        .filter((sym) => sym.declarations?.every((d) => d.getSourceFile().fileName.includes("/typescript/lib/")))
        .map((sym) => sym.name),
    );
    const runtimeWardenGlobals = runtime.globals.filter((n) => !ecmaGlobals.has(n));
    assert.deepEqual([...declared].sort(), runtimeWardenGlobals.sort());

    // The members of the Warden global, as declared, against the object the plugin has.
    const wardenSymbol = checker.getSymbolsInScope(source, ts.SymbolFlags.Variable).find((sym) => sym.name === "Warden")!;
    const describe = (type: ts.Type, depth: number): Record<string, unknown> =>
      Object.fromEntries(
        checker.getPropertiesOfType(type).map((p) => {
          const t = checker.getTypeOfSymbol(p);
          const isFunction = t.getCallSignatures().length > 0;
          return [p.name, isFunction ? "function" : p.name === "config" ? "object" : depth < 2 && checker.getPropertiesOfType(t).length > 0 ? describe(t, depth + 1) : checker.typeToString(t)];
        }),
      );
    const declaredWarden = describe(checker.getTypeOfSymbol(wardenSymbol), 0);
    const sortDeep = (o: unknown): unknown =>
      o !== null && typeof o === "object"
        ? Object.fromEntries(
            Object.entries(o)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => [k, sortDeep(v)]),
          )
        : o;
    assert.deepEqual(sortDeep({ ...declaredWarden, plugin: { id: "string", version: "string" } }), sortDeep(runtime.warden));
  });
});
