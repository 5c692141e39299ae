// refuseSharedInodes, the installer's last check on what it staged: a regular file with a second
// name anywhere (a hard link) refuses the install; a tree of single-link files, directories and
// symbolic links passes.
import assert from "node:assert/strict";
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { refuseSharedInodes } from "../../core/install/single-links.ts";
import { scratch, type Scratch } from "../helpers/plugin-dir.ts";

let s: Scratch;

describe("refuseSharedInodes", () => {
  beforeEach(() => {
    s = scratch();
    mkdirSync(join(s.root, "p/data/deep"), { recursive: true });
    writeFileSync(join(s.root, "p/plugin.json"), "{}");
    writeFileSync(join(s.root, "p/data/deep/x.txt"), "x");
    symlinkSync("../plugin.json", join(s.root, "p/data/self.json"));
  });
  afterEach(() => s.cleanup());

  it("positive control: single-link files, directories and symbolic links pass", async () => {
    await refuseSharedInodes(join(s.root, "p"), "pkg.tgz");
  });

  it("a hard link anywhere below the root is PACKAGE_UNSAFE naming the entry", async () => {
    linkSync(join(s.root, "p/plugin.json"), join(s.root, "p/data/deep/notes.txt"));
    await assert.rejects(refuseSharedInodes(join(s.root, "p"), "pkg.tgz"), (e: { code?: string; message?: string }) => {
      assert.equal(e.code, "PACKAGE_UNSAFE");
      // Whichever of the two names the walk meets first is named.
      assert.match(e.message ?? "", /cannot install pkg\.tgz: entry "(data\/deep\/notes\.txt|plugin\.json)" was unpacked as a hard link \(2 names for one file\)/);
      return true;
    });
  });

  it("a link to a file outside the root counts too", async () => {
    writeFileSync(join(s.root, "outside.txt"), "o");
    linkSync(join(s.root, "outside.txt"), join(s.root, "p/data/o.txt"));
    await assert.rejects(refuseSharedInodes(join(s.root, "p"), "pkg.tgz"), { code: "PACKAGE_UNSAFE" });
  });
});
