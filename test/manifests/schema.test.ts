// plugin.json validation: every error names its field path; ids follow MAI-15.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { manifestJsonSchema, SCHEMA_FILE } from "../../manifests/gen-schema.ts";
import { MAX_MANIFEST_BYTES, readManifest, validateManifest, type ManifestProblem } from "../../manifests/read-manifest.ts";
import { compileEntrySpecs } from "../../manifests/entry-input.ts";
import { validatePluginConfig } from "../../manifests/plugin-config.ts";
import { PATTERN_LIMITS } from "../../manifests/schema-patterns.ts";
import type { Manifest } from "../../manifests/schema.ts";
import { manifest, scratch } from "../helpers/plugin-dir.ts";

const valid = {
  id: "acme.weather",
  name: "Weather",
  version: "1.2.0",
  description: "Forecasts",
  main: "index.js",
  engines: { warden: ">=0.1.0 <1.0.0" },
  permissions: {
    read: ["data/", "/var/cache/weather"],
    write: ["/var/cache/weather"],
    net: ["api.weather.example:443", "*.example.org", "127.0.0.1:8080"],
    exec: ["git"],
    env: ["WEATHER_API_KEY"],
    channels: { publish: ["weather.*"], subscribe: ["chat.message"] },
  },
  limits: { memoryMb: 64, cpuMs: 1000, timeoutMs: 5000 },
  dependencies: { "acme.geo": "^1.0.0" },
  config: { type: "object", properties: {} },
};

function problems(json: unknown): ManifestProblem[] {
  const r = validateManifest(json, "0.1.0");
  assert.equal(r.ok, false, "expected the manifest to be invalid");
  return r.ok ? [] : r.problems;
}

function only(json: unknown, field: string, message: RegExp): void {
  const ps = problems(json);
  assert.deepEqual(
    ps.map((p) => p.field),
    [field],
    JSON.stringify(ps),
  );
  assert.match(ps[0]?.message ?? "", message);
}

describe("manifest schema", () => {
  it("accepts the contract's example manifest without warnings", () => {
    const r = validateManifest(valid, "0.1.0");
    assert.equal(r.ok, true);
    assert.deepEqual(r.ok ? r.warnings : null, []);
  });

  for (const field of ["id", "name", "version"]) {
    it(`names a missing required field: ${field}`, () => {
      const { [field]: _dropped, ...rest } = valid as Record<string, unknown>;
      only(rest, field, /^is required/);
    });
  }

  it("rejects an unknown top-level key (MAI-18)", () => {
    only({ ...valid, unexpected: true }, "unexpected", /unknown key "unexpected"; plugin\.json is strict/);
  });

  it("rejects an unknown key inside permissions", () => {
    only({ ...valid, permissions: { reed: ["data/"] } }, "permissions.reed", /unknown key "reed"/);
  });

  for (const [id, why] of [
    ["a", /at least two/],
    ["../x.y", /must not contain \/ or \\/],
    ["a/b.c", /must not contain \/ or \\/],
    ["a..b", /must not contain \.\. or empty segments/],
    ["Acme.Weather", /lowercase/],
  ] as const) {
    it(`rejects the id ${JSON.stringify(id)} (MAI-15)`, () => only({ ...valid, id }, "id", why));
  }

  it("accepts a two-segment id with digits and dashes", () => {
    assert.equal(validateManifest({ ...valid, id: "acme-2.x1" }, "0.1.0").ok, true);
  });

  it("rejects a bad semver version and a bad engines range", () => {
    only({ ...valid, version: "1.2" }, "version", /semantic version/);
    only({ ...valid, engines: { warden: "not a range" } }, "engines.warden", /semver range/);
  });

  it("names the index of a wrong-typed grant: permissions.read[2]", () => {
    only({ ...valid, permissions: { read: ["a", "b", 7] } }, "permissions.read[2]", /expected a string path \(e\.g\. "data\/".*got number/);
  });

  it("names wrong types in limits", () => {
    only({ ...valid, limits: { memoryMb: "64" } }, "limits.memoryMb", /integer number of MiB.*got string/);
  });

  it("rejects non-canonical IPs, URLs, unbracketed IPv6 and bad ports in net grants", () => {
    const ps = problems({ ...valid, permissions: { net: ["2130706433", "0x7f.0.0.1", "https://x.org", "::1", "[::1]:0", "ok.example.org"] } });
    assert.deepEqual(
      ps.map((p) => p.field),
      ["permissions.net[0]", "permissions.net[1]", "permissions.net[2]", "permissions.net[3]", "permissions.net[4]"],
    );
  });

  it("refuses a plugin whose engines.warden excludes this warden, naming both", () => {
    const r = validateManifest({ ...valid, engines: { warden: ">=2.0.0" } }, "0.1.0");
    assert.equal(r.ok, false);
    assert.match(r.ok ? "" : (r.problems[0]?.message ?? ""), /needs warden ">=2\.0\.0" but this is warden 0\.1\.0/);
  });

  it("warns (does not fail) for true grants and a missing engines", () => {
    const r = validateManifest({ id: "a.b", name: "x", version: "1.0.0", permissions: { read: true, net: true } }, "0.1.0");
    assert.equal(r.ok, true);
    assert.deepEqual(r.ok ? r.warnings.map((w) => w.field) : [], ["permissions.read", "permissions.net", "engines"]);
  });

  it("rejects a main outside the plugin directory", () => {
    only({ ...valid, main: "../x.js" }, "main", /inside the plugin directory/);
  });

  it("reports the plugin directory and every problem when reading from disk", async () => {
    const s = scratch();
    try {
      const dir = s.plugin("bad", { ...manifest("a.b"), permissions: { read: [1] }, extra: 1 }, {});
      await assert.rejects(readManifest(dir, "0.1.0"), (e: Error & { code?: string }) => {
        assert.equal(e.code, "MANIFEST_INVALID");
        assert.ok(e.message.includes(`${dir}/plugin.json: permissions.read[0]: expected a string path`), e.message);
        assert.ok(e.message.includes(`${dir}/plugin.json: extra: unknown key "extra"`), e.message);
        return true;
      });
      await assert.rejects(readManifest(`${s.root}/missing`, "0.1.0"), /MANIFEST_INVALID|does not exist/);
    } finally {
      s.cleanup();
    }
  });

  it("keeps the committed schema/plugin.schema.json in sync (run npm run gen:schema)", () => {
    assert.equal(readFileSync(SCHEMA_FILE, "utf8"), manifestJsonSchema());
  });
});

describe("plugin-declared JSON Schemas: RE2 patterns and bounded validation (issue 11, class 6)", () => {
  const withEntry = (input: object) => ({ ...valid, id: "t.schemas", entries: { go: { input } } }) as Manifest;
  const refusal = (input: object) => {
    try {
      compileEntrySpecs(withEntry(input));
    } catch (e) {
      return e as Error & { code?: string; details?: { field?: string } };
    }
    return null;
  };

  it("every place ajv runs a pattern uses RE2: pattern, patternProperties, propertyNames, nested and in config", () => {
    for (const [schema, where] of [
      [{ type: "string", pattern: "(?=a)" }, "pattern"],
      [{ type: "object", patternProperties: { "(?!a)": { type: "number" } } }, "patternProperties"],
      [{ type: "object", propertyNames: { pattern: "(a)\\1" } }, "propertyNames"],
      [{ type: "object", properties: { deep: { type: "array", items: { type: "string", pattern: "(?<=a)b" } } } }, "nested"],
      [{ type: "object", additionalProperties: false, patternProperties: { "\\k<x>": {} } }, "additionalProperties"],
    ] as const) {
      const e = refusal(schema);
      assert.equal(e?.code, "MANIFEST_INVALID", where);
      assert.equal(e?.details?.field, "entries.go.input", where);
      assert.match(e?.message ?? "", /is not RE2 syntax .*matching takes linear time/, where);
    }
    assert.throws(
      () => validatePluginConfig({ type: "object", properties: { a: { type: "string", pattern: "(?=a)" } } }, {}, "t.schemas"),
      (e: Error & { code?: string }) => e.code === "MANIFEST_INVALID" && /^plugin t\.schemas: config: the JSON Schema is invalid: pattern "\(\?=a\)" is not RE2 syntax/.test(e.message),
    );
    // Positive control: ordinary patterns, RE2 escapes, Unicode classes, named groups and case-insensitive flags compile and match.
    const specs = compileEntrySpecs(
      withEntry({
        type: "object",
        properties: {
          id: { type: "string", pattern: "^[a-z0-9-]+(\\.[a-z0-9-]+)+$" },
          word: { type: "string", pattern: "^\\p{L}+$" },
          hex: { type: "string", pattern: "^(?i)(?P<h>[0-9a-f]+)\\x{21}?$" },
        },
      }),
    );
    assert.deepEqual(specs.validate("go", { id: "acme.weather", word: "Grüße", hex: "BEEF!" }), { id: "acme.weather", word: "Grüße", hex: "BEEF!" });
    assert.throws(
      () => specs.validate("go", { word: "x1" }),
      (e: Error & { code?: string }) => e.code === "BAD_INPUT" && /input\.word: must match pattern/.test(e.message),
    );
    assert.equal(validatePluginConfig({ type: "object", properties: { a: { type: "string", pattern: "^b+$", default: "bb" } } }, {}, "t.schemas") !== null, true);
  });

  it("a pattern's program and all of a plugin's patterns together are capped at load", () => {
    assert.match(
      refusal({ type: "string", pattern: "[ab]{1000}[cd]{1000}[ef]{1000}[gh]{1000}[ij]{1000}" })?.message ?? "",
      new RegExp(`compiles to \\d+ RE2 instructions, more than ${PATTERN_LIMITS.maxProgramSize}`),
    );
    const properties: Record<string, object> = {};
    for (let i = 0; i < 30; i++) properties[`p${i}`] = { type: "string", pattern: `^${i}[ab]{1000}[cd]{1000}[ef]{1000}$` };
    assert.match(refusal({ type: "object", properties })?.message ?? "", new RegExp(`RE2 instructions, more than ${PATTERN_LIMITS.maxTotalProgramSize} in all`));
    // Positive control: the same pattern used many times is one program.
    const reused: Record<string, object> = {};
    for (let i = 0; i < 100; i++) reused[`p${i}`] = { type: "string", pattern: "^[ab]{1000}[cd]{1000}[ef]{1000}$" };
    assert.equal(refusal({ type: "object", properties: reused }), null);
  });

  it("the step budget is per validation: one input past it is BAD_INPUT, the next ordinary input passes", () => {
    const specs = compileEntrySpecs(withEntry({ type: "object", properties: { s: { type: "string", pattern: "^a[ab]{100}$" } } }));
    assert.throws(
      () => specs.validate("go", { s: "a".repeat(PATTERN_LIMITS.maxStepsPerValidation / 50) }),
      (e: Error & { code?: string }) => e.code === "BAD_INPUT" && /would take this validation past \d+ steps/.test(e.message),
    );
    const ok = `a${"b".repeat(100)}`;
    for (let i = 0; i < 3; i++) assert.deepEqual(specs.validate("go", { s: ok }), { s: ok }, "the budget does not accumulate across validations");
  });

  it("uniqueItems compares like ajv (deep, key order ignored) without comparing every pair", () => {
    const specs = compileEntrySpecs(withEntry({ type: "array", uniqueItems: true }));
    assert.throws(
      () =>
        specs.validate("go", [
          { a: 1, b: { c: [1, 2] } },
          { b: { c: [1, 2] }, a: 1 },
        ]),
      /items ## 0 and 1 are identical/,
    );
    assert.throws(() => specs.validate("go", [0, -0]), /items ## 0 and 1 are identical/);
    assert.equal((specs.validate("go", [1, "1", [1], ["1"], { a: 1 }, { a: "1" }, null, false, "null"]) as unknown[]).length, 9);
  });

  it("a failing input lists at most 20 problems, field names escaped and cut", () => {
    const config = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "x"]));
    assert.throws(
      () => validatePluginConfig({ type: "object", additionalProperties: { type: "number" } }, config, "t.schemas"),
      (e: Error & { details?: { problems?: string[] } }) => {
        assert.equal(e.details?.problems?.length, 21);
        assert.equal(e.details?.problems?.at(-1), "(and 30 more)");
        return true;
      },
    );
    const specs = compileEntrySpecs(withEntry({ type: "object", additionalProperties: { type: "number" } }));
    assert.throws(
      () => specs.validate("go", { [`\u001b[2J${"k".repeat(5000)}`]: "x" }),
      (e: Error) => {
        assert.ok(!e.message.includes("\u001b"), "escaped");
        assert.ok(e.message.length < 300, `cut: ${e.message.length} characters`);
        return true;
      },
    );
  });
});

describe("plugin.json as a file the plugin ships", () => {
  it("a FIFO, a link to /dev/zero and a 100 MB manifest are MANIFEST_INVALID at once, without hanging or reading them; a normal manifest loads (control)", async () => {
    const s = scratch();
    try {
      const fifoDir = s.plugin("fifo", manifest("t.fifo"), { "index.js": "" });
      rmSync(join(fifoDir, "plugin.json"));
      execFileSync("mkfifo", [join(fifoDir, "plugin.json")]);
      await assert.rejects(readManifest(fifoDir, "0.1.0"), /plugin\.json is not a regular file/);
      const zeroDir = s.plugin("zero", manifest("t.zero"), { "index.js": "" });
      rmSync(join(zeroDir, "plugin.json"));
      symlinkSync("/dev/zero", join(zeroDir, "plugin.json"));
      await assert.rejects(readManifest(zeroDir, "0.1.0"), /plugin\.json is not a regular file/);
      const bigDir = s.plugin("big", { ...manifest("t.big"), description: "x".repeat(1000), pad: "y".repeat(100 * 1024 * 1024) }, { "index.js": "" });
      await assert.rejects(readManifest(bigDir, "0.1.0"), new RegExp(`plugin\\.json is \\d+ bytes, more than ${MAX_MANIFEST_BYTES}`));
      const okDir = s.plugin("ok", manifest("t.ok", { description: "d".repeat(1000) }), { "index.js": "" });
      assert.equal((await readManifest(okDir, "0.1.0")).manifest.id, "t.ok");
    } finally {
      s.cleanup();
    }
  });
});
