// The pure "what grew" of a reload: every grant kind, `true` against lists, channels directions,
// path grants normalised against the plugin directory and judged by their real paths, limits and
// entry timeouts. Each growth is next to the equal or narrower change that must not count.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SPECIAL_ROOTS } from "../../capabilities/path-rules.ts";
import { entryTimeouts, limitGrowth, permissionGrowth, SPECIAL_PATH_ROOTS, type PathContext } from "../../manifests/permission-diff.ts";
import type { Manifest, ManifestPermissions } from "../../manifests/schema.ts";

const dir = "/plugins/acme";
const ctx: PathContext = { dir };

function m(permissions: ManifestPermissions, extra: Partial<Manifest> = {}): Manifest {
  return { id: "acme.x", name: "x", version: "1.0.0", permissions, ...extra };
}

function grew(before: ManifestPermissions, after: ManifestPermissions, c: PathContext = ctx): string[] {
  return permissionGrowth(m(before), m(after), c);
}

describe("permission growth", () => {
  it("equal, reordered, removed and absent grants are not growth", () => {
    const all: ManifestPermissions = {
      read: ["data/", "/srv/x"],
      write: ["data/"],
      net: ["api.example.org:443"],
      exec: ["git"],
      env: ["APP_*"],
      plugins: ["acme.geo"],
      channels: { publish: ["a.b"], subscribe: ["c.*"] },
    };
    assert.deepEqual(grew(all, all), []);
    assert.deepEqual(grew(all, { ...all, read: ["/srv/x", "data/"] }), []);
    assert.deepEqual(grew(all, { read: ["data/"] }), [], "fewer grants");
    assert.deepEqual(grew(all, {}), [], "no grants at all");
    assert.deepEqual(grew({}, {}), []);
  });

  it("a new item of every list kind is growth, named by field and value", () => {
    assert.deepEqual(grew({ read: ["data/"] }, { read: ["data/", "/etc"] }), ['permissions.read[1] "/etc" is new']);
    assert.deepEqual(grew({}, { write: ["data/"] }), ['permissions.write[0] "data/" is new']);
    assert.deepEqual(grew({ net: ["a.example"] }, { net: ["b.example"] }), ['permissions.net[0] "b.example" is new']);
    assert.deepEqual(grew({ exec: ["git"] }, { exec: ["git", "sh"] }), ['permissions.exec[1] "sh" is new']);
    assert.deepEqual(grew({ env: ["APP_KEY"] }, { env: ["AWS_SECRET"] }), ['permissions.env[0] "AWS_SECRET" is new']);
    assert.deepEqual(grew({ plugins: ["a.b"] }, { plugins: ["a.c"] }), ['permissions.plugins[0] "a.c" is new']);
    assert.deepEqual(
      grew({ channels: { publish: ["a.b"] } }, { channels: { publish: ["a.b"], subscribe: ["a.b"] } }),
      ['permissions.channels.subscribe[0] "a.b" is new'],
      "a channels direction added",
    );
    assert.deepEqual(grew({ channels: { publish: ["a.b"] } }, { channels: { publish: ["a.c"] } }), ['permissions.channels.publish[0] "a.c" is new']);
  });

  it("true where there was a list is growth; true before covers any list", () => {
    for (const kind of ["read", "write", "net", "exec", "env", "plugins"] as const) {
      assert.deepEqual(grew({ [kind]: ["x"] }, { [kind]: true }), [`permissions.${kind}: true (the running version has ["x"])`]);
      assert.deepEqual(grew({}, { [kind]: true }), [`permissions.${kind}: true (the running version has nothing)`]);
      assert.deepEqual(grew({ [kind]: true }, { [kind]: true }), []);
    }
    assert.deepEqual(grew({ net: true }, { net: ["a.example", "10.0.0.0/8"] }), []);
    assert.match(grew({ channels: { publish: ["a.b"] } }, { channels: true })[0] ?? "", /^permissions\.channels: true/);
    assert.deepEqual(grew({ channels: true }, { channels: { publish: ["x.y"], subscribe: true } }), []);
    assert.deepEqual(grew({ channels: { subscribe: ["a.b"] } }, { channels: { subscribe: true } }), ['permissions.channels.subscribe: true (the running version has ["a.b"])']);
  });

  it("path grants are compared after normalising against the plugin directory", () => {
    assert.deepEqual(grew({ read: ["data/"] }, { read: ["./data", "/plugins/acme/data/"] }), [], "the same directory, spelled three ways");
    assert.deepEqual(grew({ read: ["data/"] }, { read: ["data/../secrets/"] }), ['permissions.read[0] "data/../secrets/" (that is "secrets/") is new']);
    assert.deepEqual(grew({ read: ["data/"] }, { read: ["data-evil/"] }), ['permissions.read[0] "data-evil/" is new'], "component-wise, not a string prefix");
    assert.deepEqual(grew({ write: ["data/"] }, { read: ["data/"] }), ['permissions.read[0] "data/" is new'], "read and write are separate");
  });

  it("a narrower path counts as covered only when its real path is inside the old grant's real path", () => {
    assert.deepEqual(grew({ read: ["data/"] }, { read: ["data/sub/"] }), ['permissions.read[0] "data/sub/" is new'], "unknown real paths: conservative");
    const real = (entries: Array<[string, string]>): PathContext => ({ dir, realPaths: new Map(entries) });
    const plain = real([
      ["/plugins/acme/data", "/plugins/acme/data"],
      ["/plugins/acme/data/sub", "/plugins/acme/data/sub"],
    ]);
    assert.deepEqual(grew({ read: ["data/"] }, { read: ["data/sub/"] }, plain), [], "positive control: a real subdirectory narrows");
    const linked = real([
      ["/srv/x", "/srv/x"],
      ["/srv/x/link", "/etc"],
    ]);
    assert.deepEqual(grew({ read: ["/srv/x"] }, { read: ["/srv/x/link"] }, linked), ['permissions.read[0] "/srv/x/link" is new'], "a link under the old grant leads elsewhere");
  });

  it("/proc, /sys and /dev are covered only by a grant that names them, as in the capability", () => {
    assert.deepEqual(grew({ read: true }, { read: ["/etc", "/home/x"] }), []);
    assert.deepEqual(grew({ read: true }, { read: ["/proc/self"] }), ['permissions.read[0] "/proc/self" is new']);
    assert.deepEqual(grew({ read: ["/"] }, { read: ["/sys/kernel"] }), ['permissions.read[0] "/sys/kernel" is new']);
    assert.deepEqual(
      grew(
        { read: ["/proc/self"] },
        { read: ["/proc/self/status"] },
        {
          dir,
          realPaths: new Map([
            ["/proc/self", "/proc/1"],
            ["/proc/self/status", "/proc/1/status"],
          ]),
        },
      ),
      [],
    );
    assert.deepEqual(SPECIAL_PATH_ROOTS, SPECIAL_ROOTS, "manifests/ keeps the same list as capabilities/");
  });

  it("net: the same host without a port covers it with one; wildcards and CIDRs only as written", () => {
    assert.deepEqual(grew({ net: ["API.example.org."] }, { net: ["api.example.org:443", "api.example.org"] }), []);
    assert.deepEqual(grew({ net: ["api.example.org:443"] }, { net: ["api.example.org"] }), ['permissions.net[0] "api.example.org" is new'], "any port is more than one port");
    assert.deepEqual(grew({ net: ["[::1]"] }, { net: ["[::1]:8080"] }), []);
    assert.deepEqual(grew({ net: ["*.example.org"] }, { net: ["*.example.org:443"] }), []);
    assert.deepEqual(grew({ net: ["*.example.org"] }, { net: ["api.example.org"] }), ['permissions.net[0] "api.example.org" is new'], "conservative: not proven covered");
  });

  it("env: a prefix covers names and narrower prefixes it starts", () => {
    assert.deepEqual(grew({ env: ["APP_*"] }, { env: ["APP_KEY", "APP_DB_*"] }), []);
    assert.deepEqual(grew({ env: ["APP_KEY"] }, { env: ["APP_*"] }), ['permissions.env[0] "APP_*" is new']);
  });

  it("plugin-supplied values are escaped in what it reports", () => {
    const [line] = grew({}, { read: ["data/\u001b[31mred"] });
    assert.ok(line !== undefined && !line.includes("\u001b"), line);
  });
});

describe("limit growth", () => {
  const limits = { memoryMb: 64, cpuMs: 1000, timeoutMs: 5000 };
  it("a raised limit is growth, a lowered or equal one is not", () => {
    assert.deepEqual(limitGrowth({ limits, entryTimeouts: {} }, { limits, entryTimeouts: {} }), []);
    assert.deepEqual(limitGrowth({ limits, entryTimeouts: {} }, { limits: { ...limits, memoryMb: 32, cpuMs: 10 }, entryTimeouts: {} }), []);
    assert.deepEqual(limitGrowth({ limits, entryTimeouts: {} }, { limits: { ...limits, memoryMb: 128 }, entryTimeouts: {} }), ["limits.memoryMb 64 → 128"]);
  });

  it("an entry's own timeout is compared with what that entry had, its own or the plugin's", () => {
    const m1 = m({}, { entries: { slow: { timeoutMs: 100 } } });
    assert.deepEqual(entryTimeouts(m1), { slow: 100 });
    assert.deepEqual(limitGrowth({ limits, entryTimeouts: { slow: 100 } }, { limits, entryTimeouts: {} }), ["entries.slow.timeoutMs 100 → 5000"], "dropping an entry's tighter timeout raises it");
    assert.deepEqual(limitGrowth({ limits, entryTimeouts: {} }, { limits, entryTimeouts: { fast: 6000 } }), ["entries.fast.timeoutMs 5000 → 6000"]);
    assert.deepEqual(limitGrowth({ limits, entryTimeouts: {} }, { limits, entryTimeouts: { fast: 50 } }), []);
  });
});
