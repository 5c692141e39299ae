// The error catalogue (errors/errors.ts) and its documented list (docs/errors.md) name the same codes,
// and every code survives the trip across a boundary.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CONTRACT_ERROR_CODES, createError, ERROR_CODES, EXTENSION_ERROR_CODES, fromDescriptor, isWardenError } from "../../errors/index.ts";
import { REPO_ROOT } from "../helpers/plugin-dir.ts";

// docs/errors.md is the project's own list of error codes: the tests compare errors/errors.ts with it
// in both directions, and the contract codes with the sections not marked as extensions.
/** The `## CODE` sections of docs/errors.md, in order, and which of them are marked as extensions. */
function documentedCodes(): { codes: string[]; extensions: string[] } {
  const text = readFileSync(join(REPO_ROOT, "docs/errors.md"), "utf8");
  const sections = text.split(/^(?=## )/m).slice(1);
  const codes = sections.map((s) => /^## (\S+)\s*$/m.exec(s)?.[1] ?? `(bad heading: ${s.split("\n")[0]})`);
  return { codes, extensions: codes.filter((_, i) => sections[i]?.includes("(an extension of the contract)")) };
}

describe("error catalogue", () => {
  it("every code in errors/errors.ts has a section in docs/errors.md", () => {
    const { codes } = documentedCodes();
    const missing = ERROR_CODES.filter((c) => !codes.includes(c));
    assert.deepEqual(missing, [], `errors/errors.ts has ${missing.join(", ")} but docs/errors.md has no "## CODE" section for it: document it there`);
  });

  it("every section of docs/errors.md is a code of errors/errors.ts", () => {
    const { codes } = documentedCodes();
    const unknown = codes.filter((c) => !(ERROR_CODES as readonly string[]).includes(c));
    assert.deepEqual(unknown, [], `docs/errors.md documents ${unknown.join(", ")} but errors/errors.ts has no such code: add it to ERROR_CODES or remove the section`);
  });

  it("docs/errors.md lists the codes once each, in the catalogue's order", () => {
    const { codes } = documentedCodes();
    assert.deepEqual(codes, [...ERROR_CODES], "docs/errors.md's sections must follow ERROR_CODES in errors/errors.ts, once each");
  });

  it("the sections marked as extensions are exactly EXTENSION_ERROR_CODES, after the contract's codes", () => {
    const { extensions } = documentedCodes();
    assert.deepEqual(
      extensions,
      [...EXTENSION_ERROR_CODES],
      'docs/errors.md marks these sections "(an extension of the contract)"; errors/errors.ts lists them in EXTENSION_ERROR_CODES: the two must agree',
    );
    assert.deepEqual([...ERROR_CODES], [...CONTRACT_ERROR_CODES, ...EXTENSION_ERROR_CODES]);
  });

  it("every code round-trips through a descriptor and is recognised by brand, not prototype", () => {
    for (const code of ERROR_CODES) {
      const e = createError(code, `m ${code}`);
      assert.equal(e.code, code);
      const back = fromDescriptor(JSON.parse(JSON.stringify(e.toDescriptor())) as object);
      assert.equal(back.code, code);
      assert.equal(back.message, `m ${code}`);
      assert.ok(isWardenError(back));
    }
    assert.equal(fromDescriptor({ code: "NOT_A_CODE", message: "x" }).code, "PLUGIN_ERROR");
    assert.equal(isWardenError(new Error("x")), false);
  });
});
