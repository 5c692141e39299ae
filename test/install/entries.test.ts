// EntryChecker on its own: the rules every package entry meets, including the count of bytes
// actually read against the declared size (a reader that trusted a header would be fooled here).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_INSTALL_LIMITS } from "../../core/limits.ts";
import { EntryChecker } from "../../core/install/entries.ts";

const limits = { ...DEFAULT_INSTALL_LIMITS, fileBytes: 1000, totalBytes: 2500 };

function checker(): EntryChecker {
  const c = new EntryChecker("pkg.tgz", limits);
  c.add({ path: "plugin.json", kind: "file", typeName: "File", size: 10 });
  return c;
}

describe("EntryChecker", () => {
  it("counts the data actually read: more than one file's cap is refused, whatever was declared; up to it passes", () => {
    const c = checker();
    c.add({ path: "liar.bin", kind: "file", typeName: "File", size: 10 });
    c.readBytes("liar.bin", 10, 1000, 1000);
    assert.throws(() => c.readBytes("liar.bin", 10, 1001, 1), { code: "PACKAGE_TOO_LARGE", message: /"liar\.bin" has more than 1000 bytes of data.*limits\.fileBytes/ });
  });

  it("counts bytes beyond the declared size towards the total; declared bytes are not counted twice", () => {
    const c = checker();
    for (const name of ["a", "b"]) {
      c.add({ path: name, kind: "file", typeName: "File", size: 10 });
      c.readBytes(name, 10, 10, 10); // as declared: already counted by add
    }
    c.add({ path: "c", kind: "file", typeName: "File", size: 10 });
    c.readBytes("c", 10, 900, 900);
    c.add({ path: "d", kind: "file", typeName: "File", size: 10 });
    c.readBytes("d", 10, 900, 900);
    c.add({ path: "e", kind: "file", typeName: "File", size: 10 });
    assert.throws(() => c.readBytes("e", 10, 900, 900), { code: "PACKAGE_TOO_LARGE", message: /limits\.totalBytes/ });
  });

  it("passes a plain package and finds plugin.json in a single top-level directory", () => {
    const c = new EntryChecker("pkg.tgz", limits);
    c.add({ path: "package/", kind: "directory", typeName: "Directory", size: 0 });
    c.add({ path: "package/plugin.json", kind: "file", typeName: "File", size: 10 });
    c.add({ path: "package/lib/x.js", kind: "file", typeName: "File", size: 10 });
    c.add({ path: "package/lib/y.js", kind: "symlink", typeName: "SymbolicLink", size: 0, linkpath: "../plugin.json" });
    assert.deepEqual(c.finish(), { root: "package", entries: 4, bytes: 20 });
    const out = new EntryChecker("pkg.tgz", limits);
    out.add({ path: "package/plugin.json", kind: "file", typeName: "File", size: 10 });
    out.add({ path: "package/up", kind: "symlink", typeName: "SymbolicLink", size: 0, linkpath: "../other" });
    assert.throws(() => out.finish(), { code: "PACKAGE_UNSAFE", message: /leads out of the plugin/ });
  });
});
