// docs/exec-env-policy.md (and the one-line list in README.md and docs/security.md) is the environment policy of Warden.exec as the code enforces it: the file
// must contain exactly what execEnvPolicyMarkdown() renders from EXEC_ENV_POLICY, so a variable added
// to the code without the docs (or the other way round) fails here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { execEnvPolicyMarkdown, execEnvPolicyPatterns } from "../../capabilities/index.ts";
import { REPO_ROOT } from "../helpers/plugin-dir.ts";

describe("docs/exec-env-policy.md", () => {
  it("is the rendering of EXEC_ENV_POLICY", () => {
    const doc = readFileSync(join(REPO_ROOT, "docs/exec-env-policy.md"), "utf8");
    assert.ok(
      doc.includes(execEnvPolicyMarkdown()),
      "docs/exec-env-policy.md differs from EXEC_ENV_POLICY; after `npx tsc -p tsconfig.json`, regenerate its list with: node -e 'import(\"./dist/capabilities/index.js\").then((m) => process.stdout.write(m.execEnvPolicyMarkdown()))'",
    );
  });

  it("README.md and docs/security.md carry the same one-line list of refused names", () => {
    for (const file of ["README.md", "docs/security.md"]) {
      const doc = readFileSync(join(REPO_ROOT, file), "utf8");
      assert.ok(
        doc.includes(execEnvPolicyPatterns()),
        `${file} lacks the current list of refused variables; after \`npx tsc -p tsconfig.json\`, replace its "Refused, in any case: …" line with: node -e 'import("./dist/capabilities/index.js").then((m) => process.stdout.write(m.execEnvPolicyPatterns()))'`,
      );
    }
  });
});
