// The prelude is shipped to every isolate with full-line comments and indentation stripped; that is
// only safe while no fragment has a template literal spanning lines. This keeps it that way.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/plugin-dir.ts";

describe("prelude source", () => {
  it("no fragment has a template literal that spans lines", () => {
    const dir = join(REPO_ROOT, "isolate/prelude");
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".js"))) {
      const src = readFileSync(join(dir, f), "utf8")
        .split("\n")
        .filter((l) => !/^\s*\/\//.test(l))
        .join("\n");
      let inTemplate = false;
      for (let i = 0; i < src.length; i++) {
        const c = src[i];
        if (c === "`" && src[i - 1] !== "\\") inTemplate = !inTemplate;
        assert.ok(!(inTemplate && c === "\n"), `${f}: a template literal spans lines near character ${i}`);
      }
    }
  });
});
