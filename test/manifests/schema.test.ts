// plugin.json validation: every error names its field path; ids follow MAI-15.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { manifestJsonSchema, SCHEMA_FILE } from "../../manifests/gen-schema.ts";
import { readManifest, validateManifest, type ManifestProblem } from "../../manifests/read-manifest.ts";
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
  assert.deepEqual(ps.map((p) => p.field), [field], JSON.stringify(ps));
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
    assert.deepEqual(ps.map((p) => p.field), ["permissions.net[0]", "permissions.net[1]", "permissions.net[2]", "permissions.net[3]", "permissions.net[4]"]);
  });

  it("refuses a plugin whose engines.warden excludes this warden, naming both", () => {
    const r = validateManifest({ ...valid, engines: { warden: ">=2.0.0" } }, "0.1.0");
    assert.equal(r.ok, false);
    assert.match(r.ok ? "" : r.problems[0]?.message ?? "", /needs warden ">=2\.0\.0" but this is warden 0\.1\.0/);
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
