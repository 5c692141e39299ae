// The pure path matcher (Deno's semantics: capabilities/path-rules.ts) plus properties.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compilePathRules, matchPath, normalizePath } from "../../capabilities/path-rules.ts";

const dir = "/plugins/acme";

describe("path rules", () => {
  it("grants below a granted directory, component-wise (N12: /data never covers /data-evil)", () => {
    const rules = compilePathRules(["/data", "cache/"], dir, "permissions.read");
    assert.equal(matchPath(rules, "/data")?.source, "/data");
    assert.equal(matchPath(rules, "/data/x/y.txt")?.source, "/data");
    assert.equal(matchPath(rules, "/data-evil/x"), null);
    assert.equal(matchPath(rules, "/dat"), null);
    assert.equal(matchPath(rules, "/plugins/acme/cache/a")?.source, "cache/");
  });

  it("normalises .. lexically before matching (N1)", () => {
    const rules = compilePathRules(["data/"], dir, "permissions.read");
    assert.equal(matchPath(rules, normalizePath("data/../../other/x", dir)), null);
    assert.equal(matchPath(rules, normalizePath("data/sub/../x", dir))?.source, "data/");
  });

  it("keeps /proc, /sys and /dev out of / and true (D10)", () => {
    for (const rules of [compilePathRules(["/"], dir, "permissions.read"), compilePathRules(true, dir, "permissions.read")]) {
      assert.equal(matchPath(rules, "/proc/self/environ"), null);
      assert.equal(matchPath(rules, "/sys/kernel"), null);
      assert.equal(matchPath(rules, "/dev/sda"), null);
      assert.notEqual(matchPath(rules, "/etc/hostname"), null);
    }
    assert.equal(matchPath(compilePathRules(["/proc/self/status"], dir, "permissions.read"), "/proc/self/status")?.source, "/proc/self/status");
  });

  it("grants nothing for an absent or empty grant", () => {
    assert.equal(matchPath(compilePathRules(undefined, dir, "permissions.read"), "/plugins/acme/x"), null);
    assert.equal(matchPath(compilePathRules([], dir, "permissions.read"), "/plugins/acme/x"), null);
  });

  it("property: normalisation is idempotent", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("a", "b", "..", ".", "", "c d"), { maxLength: 8 }), (parts) => {
        const once = normalizePath(parts.join("/"), dir);
        assert.equal(normalizePath(once, dir), once);
      }),
    );
  });

  it("property: a path built from any segments is allowed only if it lies inside the grant", () => {
    const rules = compilePathRules(["/data/pub"], dir, "permissions.read");
    fc.assert(
      fc.property(fc.array(fc.constantFrom("data", "pub", "pub-x", "..", ".", "etc"), { maxLength: 8 }), (parts) => {
        const p = normalizePath(`/${parts.join("/")}`, dir);
        const inside = p === "/data/pub" || p.startsWith("/data/pub/");
        assert.equal(matchPath(rules, p) !== null, inside, p);
      }),
    );
  });
});
