// Assembles the in-isolate prelude: the numbered fragments in prelude/ become the body of one
// function `(dispatch, pluginJson, configJson, capsJson) => internals`, compiled once per isolate.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const PRELUDE_DIR = fileURLToPath(new URL("../../isolate/prelude/", import.meta.url));

let cached: string | undefined;

/** The prelude source; evaluating it yields the prelude function. */
export function preludeSource(): string {
  if (cached === undefined) {
    const files = readdirSync(PRELUDE_DIR)
      .filter((f) => f.endsWith(".js"))
      .sort();
    // Every isolate keeps the prelude's source: full-line comments and indentation are dropped
    // (the fragments have no multi-line template literals), ~15 KB less per plugin.
    const body = files
      .map((f) => readFileSync(PRELUDE_DIR + f, "utf8"))
      .join("\n")
      .split("\n")
      .filter((line) => !/^\s*\/\//.test(line) && line.trim() !== "")
      .map((line) => line.trimStart())
      .join("\n");
    cached = `(function wardenPrelude(dispatch, pluginJson, configJson, capsJson) {\n${body}\n})`;
  }
  return cached;
}

/** The filename prelude frames carry, so they can be cut from plugin stack traces. */
export const PRELUDE_FILENAME = "warden:prelude";
