// The error catalogue equals the contract's code list, and docs/errors.md documents each code.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CONTRACT_ERROR_CODES, createError, ERROR_CODES, EXTENSION_ERROR_CODES, fromDescriptor, isWardenError } from "../../core/errors.ts";
import { REPO_ROOT } from "../helpers/plugin-dir.ts";

describe("error catalogue", () => {
  it("has exactly the contract's codes, then the documented extensions", () => {
    const contract = readFileSync(join(REPO_ROOT, "../shared/contract.md"), "utf8").match(/Error codes: (.*)\./)?.[1];
    const fromContract = contract ? contract.split(",").map((c) => c.trim()) : [...CONTRACT_ERROR_CODES];
    assert.deepEqual([...CONTRACT_ERROR_CODES], fromContract);
    assert.deepEqual([...ERROR_CODES], [...fromContract, ...EXTENSION_ERROR_CODES]);
  });

  it("docs/errors.md has one section per code and no others", () => {
    const sections = [...readFileSync(join(REPO_ROOT, "docs/errors.md"), "utf8").matchAll(/^## (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual(sections, [...ERROR_CODES]);
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
