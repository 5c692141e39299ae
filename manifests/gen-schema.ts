// Generates schema/plugin.schema.json from the zod schema (`npm run gen:schema`); a test fails when
// the committed file is stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ManifestSchema } from "./schema.ts";

/** The JSON Schema of plugin.json, as editors see it. */
export function manifestJsonSchema(): string {
  const schema = z.toJSONSchema(ManifestSchema, { io: "input", target: "draft-7" });
  const withId = { $id: "https://warden.dev/schema/plugin.schema.json", title: "warden plugin manifest", ...schema };
  return `${JSON.stringify(withId, null, 2)}\n`;
}

/** Where the committed schema lives, relative to this module in dist/ or in the source tree. */
export const SCHEMA_FILE = fileURLToPath(new URL("../../schema/plugin.schema.json", import.meta.url));

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, manifestJsonSchema());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
