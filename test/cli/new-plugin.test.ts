// `warden new` as an author uses it: scaffold, check, run, and the scaffold's own test, all through
// bin/warden.js in child processes; and `warden check` loading (never running) a plugin's code.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { readManifest } from "../../manifests/read-manifest.ts";
import { WARDEN_VERSION } from "../../core/version.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const BIN = join(REPO_ROOT, "bin/warden.js");
let s: Scratch;

function warden(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: s.root, env: { ...process.env, WARDEN_LOG_LEVEL: "warn" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("warden new", () => {
  before(() => {
    s = scratch();
  });
  after(() => s.cleanup());

  for (const ts of [true, false]) {
    const lang = ts ? "TypeScript" : "JavaScript";
    it(`--${ts ? "ts" : "(js)"}: a ${lang} plugin that checks, runs through the CLI and passes its own test`, () => {
      const name = ts ? "greeter-ts" : "greeter-js";
      const made = warden("new", name, ...(ts ? ["--ts"] : []), "--json");
      assert.equal(made.status, 0, made.stderr);
      const out = JSON.parse(made.stdout) as { ok: boolean; id: string; main: string; files: string[] };
      assert.equal(out.ok, true);
      assert.equal(out.id, `local.${name}`);
      const dir = join(s.root, name);
      assert.deepEqual(readdirSync(dir).sort(), [out.main, "index.test.js", "package.json", "plugin.json", "tsconfig.json"].sort());

      // The $schema and the types resolve offline, to this warden's files.
      const pj = JSON.parse(readFileSync(join(dir, "plugin.json"), "utf8")) as { $schema: string; main: string };
      assert.equal(resolve(dir, pj.$schema), join(REPO_ROOT, "schema/plugin.schema.json"));
      const tsconfig = JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8")) as { compilerOptions: { paths?: Record<string, string[]> } };
      assert.equal(resolve(dir, tsconfig.compilerOptions.paths?.["warden/plugin"]?.[0] ?? ""), join(REPO_ROOT, "types/plugin.d.ts"));

      const check = warden("check", name);
      assert.equal(check.status, 0, check.stdout + check.stderr);
      assert.match(check.stdout, new RegExp(`modules: ${out.main.replace(".", "\\.")}`));
      assert.match(check.stdout, new RegExp(`local\\.${name} 0\\.1\\.0: valid`));

      const run = warden("run", name, "hello", "--input", '{"name":"Ada"}', "--json", "--audit-log", join(s.root, "audit.jsonl"));
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), { ok: true, value: { message: "Hello, Ada!", caller: "host" } });

      // A failure's stack names the author's file at the line of the throw.
      const bad = warden("run", name, "hello", "--input", '{"name":42}', "--audit-log", join(s.root, "audit.jsonl"));
      assert.equal(bad.status, 1);
      const source = readFileSync(join(dir, out.main), "utf8").split("\n");
      const line = source.findIndex((l) => l.includes("throw new TypeError")) + 1;
      assert.ok(line > 0);
      assert.match(bad.stderr, new RegExp(`at hello \\(${out.main.replace(".", "\\.")}:${line}:\\d+\\)`));

      // NODE_TEST_CONTEXT would make the inner runner report to this one instead of printing TAP.
      const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
      const test = spawnSync(process.execPath, ["--no-node-snapshot", "--test", "index.test.js"], { cwd: dir, encoding: "utf8", env: { ...env, WARDEN_LOG_LEVEL: "warn" } });
      assert.equal(test.status, 0, test.stdout + test.stderr);
      // TAP on Node 20 and 22 ("# pass 2"), the spec reporter on Node 24 ("ℹ pass 2").
      assert.match(test.stdout, /(# |ℹ )pass 2/);
    });
  }

  it("the manifest it writes is valid and accepts this warden's version", async () => {
    assert.equal(warden("new", "plain", "--id", "acme.plain-bot").status, 0);
    const loaded = await readManifest(join(s.root, "plain"), WARDEN_VERSION);
    assert.equal(loaded.manifest.id, "acme.plain-bot");
    assert.equal(loaded.manifest.name, "Plain Bot");
    assert.deepEqual(loaded.warnings, []);
  });

  it("never overwrites: a non-empty directory is refused and left as it was; an empty one is used", () => {
    const dir = join(s.root, "taken");
    mkdirSync(dir);
    writeFileSync(join(dir, "notes.txt"), "mine");
    const r = warden("new", "taken");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /"[^"]*taken" exists and is not empty; warden new never overwrites files/);
    assert.deepEqual(readdirSync(dir), ["notes.txt"]);
    assert.equal(readFileSync(join(dir, "notes.txt"), "utf8"), "mine");
    mkdirSync(join(s.root, "empty"));
    assert.equal(warden("new", "empty").status, 0);
    assert.ok(existsSync(join(s.root, "empty/plugin.json")));
    // No staging directory is left behind by either.
    assert.deepEqual(
      readdirSync(s.root).filter((n) => n.includes("warden-new")),
      [],
    );
  });

  it("an invalid --id, or a directory name with no usable characters, is refused naming the problem", () => {
    for (const id of ["Bad_Id", "single", "../escape.x", "a..b"]) {
      const r = warden("new", "idtest", "--id", id);
      assert.equal(r.status, 2, id);
      assert.match(r.stderr, /BAD_INPUT: warden new: --id "/, id);
    }
    assert.equal(existsSync(join(s.root, "idtest")), false);
    const r = warden("new", "___");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cannot make a plugin id from the directory name "___"; pass --id/);
  });
});

describe("warden check loads the code without running it", () => {
  before(() => {
    s = scratch();
  });
  after(() => s.cleanup());

  it("a plugin whose top level would loop forever and write a file checks valid, quickly, and nothing ran (control for the refusals below)", () => {
    s.plugin("sleeper", manifest("test.sleeper", { main: "index.ts", permissions: { write: ["out/"] } }), {
      "index.ts": 'await Warden.fs.writeTextFile("out/ran.txt", "ran");\nfor (;;) {}\nexport const x: number = 1;\n',
      "out/.keep": "",
    });
    const r = warden("check", "sleeper");
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /modules: index\.ts \(1 TypeScript: types stripped at load, not checked\)/);
    assert.equal(existsSync(join(s.root, "sleeper/out/ran.txt")), false);
  });

  it("a syntax error, an enum, a refused import or a missing entry module is exit 2 naming the file and line", () => {
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ["syntax", { "index.ts": "export const a = 1;\nexport const b: = 2;\n" }, /main \(index\.ts\): index\.ts:2:\d+: /],
      ["enum", { "index.ts": 'export { E } from "./lib/e.ts";\n', "lib/e.ts": "export enum E { A }\n" }, /lib\/e\.ts:1:8: TypeScript enum is not supported/],
      ["escape", { "index.ts": 'import "node:fs";\n' }, /index\.ts imports "node:fs": Node built-in modules are not available/],
      ["missing", {}, /the entry module "index\.ts" does not exist/],
    ];
    for (const [name, files, message] of cases) {
      s.plugin(name, manifest(`test.${name}`, { main: "index.ts" }), files);
      const r = warden("check", name, "--json");
      assert.equal(r.status, 2, name);
      const out = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; problems: string[] } };
      assert.equal(out.ok, false, name);
      assert.equal(out.error.code, "PLUGIN_ERROR", name);
      assert.match(out.error.problems[0] ?? "", message, name);
    }
  });
});
