// Entry input schemas (a warden extension of the contract): plugin.json may declare, per entry, a
// JSON Schema for its input and its own timeoutMs. Inputs are validated before the call, so a
// mismatch is BAD_INPUT with field paths and the plugin never sees the bad input. The input may
// come from another plugin (Warden.plugins.call), and validation runs on the host's thread: the
// compiler (plugin-config.ts) keeps its cost bounded whatever the schema's shape and the input.
import type { ValidateFunction } from "ajv";
import { BadInputError, ManifestInvalidError } from "../errors/index.ts";
import { checkCopy, schemaCompiler } from "./plugin-config.ts";
import type { Manifest } from "./schema.ts";

/** Validators and timeouts of the entries a manifest declares. */
export type EntrySpecs = {
  /** Validate (and fill defaults into a copy of) `input` for `entry`; throws BAD_INPUT. */
  validate(entry: string, input: unknown): unknown;
  /** The entry's own timeoutMs, if declared. */
  timeoutMs(entry: string): number | undefined;
};

/** Compile the `entries` of a manifest; an invalid schema is MANIFEST_INVALID naming the entry. */
export function compileEntrySpecs(m: Manifest): EntrySpecs {
  const compiler = schemaCompiler({ allErrors: false });
  // The config schema is compiled apart (validatePluginConfig) but counts towards the plugin's cap.
  try {
    if (m.config !== undefined) compiler.count(m.config);
  } catch (e) {
    throw new ManifestInvalidError(`plugin ${m.id}: config: the JSON Schema is invalid: ${(e as Error).message}`, { pluginId: m.id, field: "config" });
  }
  const validators = new Map<string, ValidateFunction>();
  for (const [name, spec] of Object.entries(m.entries ?? {})) {
    if (spec.input === undefined) continue;
    try {
      validators.set(name, compiler.compile(spec.input));
    } catch (e) {
      throw new ManifestInvalidError(`plugin ${m.id}: entries.${name}.input: the JSON Schema is invalid: ${(e as Error).message}`, { pluginId: m.id, field: `entries.${name}.input` });
    }
  }
  return {
    validate(entry, input) {
      const v = validators.get(entry);
      if (v === undefined) return input;
      const { value, problems } = checkCopy(v, compiler, input, "input");
      if (problems.length === 0) return value;
      throw new BadInputError(`plugin ${m.id}: invalid input for ${entry}():\n${problems.join("\n")}`, { pluginId: m.id, entry, problems });
    },
    timeoutMs: (entry) => m.entries?.[entry]?.timeoutMs,
  };
}
