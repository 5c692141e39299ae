// Validates a host-supplied plugin configuration against the JSON Schema the manifest declares
// (ajv, with the schema's defaults filled in). Errors name the config field path.
import { Ajv, type ErrorObject } from "ajv";
import { BadInputError, ManifestInvalidError } from "../core/errors.ts";

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });

/** The field path of an ajv error, under `root` ("config", "input"). */
export function fieldPath(e: ErrorObject, root = "config"): string {
  const base = e.instancePath.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  const extra = e.keyword === "required" ? [(e.params as { missingProperty: string }).missingProperty] : [];
  return [root, ...base, ...extra].map((p, i) => (/^\d+$/.test(p) && i > 0 ? `[${p}]` : i > 0 ? `.${p}` : p)).join("");
}

/** The ajv instance warden validates plugin-declared schemas with (defaults applied). */
export function schemaValidator(): Ajv {
  return ajv;
}

/** Validate `config` against `schema`; returns the config with defaults applied, or throws BAD_INPUT. */
export function validatePluginConfig(schema: Record<string, unknown> | undefined, config: unknown, pluginId: string): unknown {
  if (schema === undefined) return config ?? null;
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (e) {
    throw new ManifestInvalidError(`plugin ${pluginId}: config: the JSON Schema is invalid: ${(e as Error).message}`, { pluginId, field: "config" });
  }
  const value = structuredClone(config ?? {});
  if (validate(value)) return value;
  const problems = (validate.errors ?? []).map((e) => `${fieldPath(e)}: ${e.message ?? "invalid"}`);
  throw new BadInputError(`plugin ${pluginId}: invalid config:\n${problems.join("\n")}`, { pluginId, problems });
}
