// TypeScript plugins: written as an author would (interfaces, generics, `satisfies`, type-only
// imports, TypeScript's "./x.js" convention), run in both isolation modes, with stack traces at
// the .ts line and column, refusals that say where and what to write instead, and the plugin's
// .ts files as protected from its own write grants as its .js files.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { isWardenError } from "../../errors/index.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { stripTypes } from "../../isolate/index.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");

const INDEX = `import type { Greeting } from "./types.ts";
import { shout } from "./util.js";
import { twice } from "./lib/math.mts";

interface Input { name: string; times?: number }

export function greet(input: Input): Greeting {
  const text: string = shout(input.name as string);
  return { text, count: twice<number>(input.times ?? 1) } satisfies Greeting;
}

export async function readConfig(): Promise<unknown> {
  return Warden.config;
}

export function fails(input: { why: string }): never {
  const detail: Record<string, string> = { why: input.why };
  throw new Error("failed: " + detail.why);
}
`;

function position(source: string, needle: string): { line: number; column: number } {
  const lines = source.split("\n");
  const line = lines.findIndex((l) => l.includes(needle));
  return { line: line + 1, column: lines[line]!.indexOf(needle) + 1 };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e,
  );
}

for (const isolation of ["process", "in-process"] as const) {
  describe(`TypeScript plugins (${isolation})`, () => {
    let s: Scratch;
    let plugin: PluginHandle;
    before(async () => {
      s = scratch();
      const dir = s.plugin("ts", manifest("test.ts-plugin", { main: "index.ts", config: { type: "object" } }), {
        "index.ts": INDEX,
        "types.ts": "export type Greeting = { text: string; count: number };\n",
        "util.ts": "export const shout = (s: string): string => s.toUpperCase() + '!';\n",
        "lib/math.mts": "export function twice<T extends number>(n: T): number { return n * 2; }\n",
      });
      plugin = await loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation, config: { mode: "typed" } });
    });
    after(async () => {
      await plugin.close();
      s.cleanup();
    });

    it("runs .ts and .mts modules, type-only imports and './x.js' naming ./x.ts", async () => {
      assert.deepEqual(await plugin.invoke("greet", { name: "ada", times: 2 }), { text: "ADA!", count: 4 });
      assert.deepEqual(await plugin.invoke("readConfig"), { mode: "typed" });
      assert.deepEqual([...plugin.entries].sort(), ["fails", "greet", "readConfig"]);
    });

    it("a thrown error's stack names the .ts file at the author's line and column", async () => {
      const err = await failure(plugin.invoke("fails", { why: "because" }));
      assert.ok(isWardenError(err), String(err));
      assert.equal(err.code, "PLUGIN_ERROR");
      assert.match(err.message, /failed: because/);
      const at = position(INDEX, 'new Error("failed: "');
      const stack = String(err.details["pluginStack"]);
      assert.ok(stack.includes(`index.ts:${at.line}:${at.column}`), `expected index.ts:${at.line}:${at.column} in:\n${stack}`);
    });
  });
}

describe("TypeScript plugins that cannot be stripped", () => {
  let s: Scratch;
  before(() => {
    s = scratch();
  });
  after(() => s.cleanup());

  async function loadError(name: string, files: Record<string, string>, main = "index.ts"): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
    const dir = s.plugin(name, manifest(`test.${name}`, { main }), files);
    return (await failure(loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation: "in-process" }))) as Error & { code?: string; details?: Record<string, unknown> };
  }

  it("an enum is refused naming file:line:column and what to write instead", async () => {
    const err = await loadError("enum", { "index.ts": "export const a = 1;\n\nexport enum Color { Red, Green }\n" });
    assert.equal(err.code, "PLUGIN_ERROR");
    assert.match(err.message, /index\.ts:3:8: TypeScript enum is not supported/);
    assert.match(err.message, /const object instead of an enum/);
    assert.match(err.message, /erasableSyntaxOnly/);
  });

  it("namespaces, parameter properties and <T>x casts in an imported file are refused naming that file", async () => {
    for (const [name, code, what] of [
      ["ns", "export namespace N { export const x = 1; }\n", /namespace/],
      ["params", "export class P { constructor(private x: number) {} }\n", /parameter property/],
      ["cast", "const y: unknown = 1;\nexport const x = <number>y;\n", /as.*syntax/],
    ] as const) {
      const err = await loadError(name, { "index.ts": 'export * from "./lib/bad.ts";\n', "lib/bad.ts": code });
      assert.equal(err.code, "PLUGIN_ERROR", name);
      assert.match(err.message, /^lib\/bad\.ts:\d+:\d+: /, name);
      assert.match(err.message, what, name);
    }
  });

  it("a syntax error names the line; a .cts file is refused as CommonJS; the same file as .ts loads (control)", async () => {
    const syntax = await loadError("syntax", { "index.ts": "export const ok = 1;\nexport const x: = 2;\n" });
    assert.match(syntax.message, /index\.ts:2:\d+: /);
    const cts = await loadError("cts", { "index.ts": 'export { v } from "./lib.cts";\n', "lib.cts": "export const v: number = 1;\n" });
    assert.match(cts.message, /lib\.cts.*CommonJS/);
    const dir = s.plugin("control", manifest("test.control", { main: "index.ts" }), { "index.ts": 'export { v } from "./lib.ts";\n', "lib.ts": "export const v: number = 1;\n" });
    const ok = await loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation: "in-process" });
    try {
      assert.deepEqual(ok.entries, []);
    } finally {
      await ok.close();
    }
  });

  it("a type error is not the host's business: the plugin loads and runs", async () => {
    const dir = s.plugin("typeerr", manifest("test.typeerr", { main: "index.ts" }), { "index.ts": "export function n(): number { const s: number = 'text' as unknown as number; return s; }\n" });
    const p = await loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation: "in-process" });
    try {
      assert.equal(await p.invoke("n"), "text");
    } finally {
      await p.close();
    }
  });
});

describe("TypeScript plugins and their own files", () => {
  it("a plugin granted its own directory cannot rewrite its .ts/.mts modules; it can write its data (control)", async () => {
    const s = scratch();
    const dir = s.plugin("selfts", manifest("test.selfts", { main: "index.ts", permissions: { read: ["."], write: ["."] } }), {
      "index.ts": `export async function write(input: { file: string }): Promise<string> {
  try { await Warden.fs.writeTextFile(input.file, "export const pwned = true;"); return "written"; }
  catch (e) { return (e as { code: string }).code; }
}
`,
      "lib/helper.mts": "export const h = 1;\n",
    });
    const p = await loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation: "in-process" });
    try {
      for (const file of ["index.ts", "lib/helper.mts", "lib/new.ts", "other.mts"]) {
        assert.equal(await p.invoke("write", { file: `${dir}/${file}` }), "PERMISSION_DENIED", file);
      }
      assert.equal(await p.invoke("write", { file: `${dir}/notes.txt` }), "written");
    } finally {
      await p.close();
      s.cleanup();
    }
  });
});

describe("stripTypes", () => {
  it("keeps every line and column: types become spaces", () => {
    const src = "const a: number = 1;\nfunction f<T>(x: T): T { return x; }\nexport { a, f };\n";
    const out = stripTypes("x.ts", src);
    assert.equal(out.length, src.length);
    assert.deepEqual(
      out.split("\n").map((l) => l.length),
      src.split("\n").map((l) => l.length),
    );
    assert.match(out, /^const a {9}= 1;\nfunction f {3}\(x {3}\) {4}\{ return x; \}/);
  });

  it("is cached by the source's hash: the same text gives the same result, an edited text a new one", () => {
    const src = "export const v: string = 'one';\n";
    assert.equal(stripTypes("a.ts", src), stripTypes("b.ts", src));
    assert.notEqual(stripTypes("a.ts", src), stripTypes("a.ts", src.replace("one", "two")));
  });
});
