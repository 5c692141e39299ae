// ESLint for warden (`npm run lint`, run by .ci/run): typescript-eslint's recommended and
// type-aware rules on the TypeScript, and the in-isolate prelude linted as what it really is.
// The prelude's fragments (isolate/prelude/*.js) are not programs of their own: isolate/prelude.ts
// joins them into the body of one function. A processor lints that assembled function once per
// fragment and keeps the messages that fall in the fragment, at the fragment's own lines, so a name
// declared in one fragment and used in another resolves, and one that exists nowhere is an error.
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** The prelude as isolate/prelude.ts assembles it (comments and indentation kept), and where `file` starts in it. */
function assemblePrelude(file, text) {
  const dir = dirname(file);
  const header = "(function wardenPrelude(dispatch, pluginJson, configJson, capsJson) {\n";
  let body = "";
  let start = -1;
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith(".js"))
    .sort()) {
    if (name === basename(file)) start = header.split("\n").length - 1 + body.split("\n").length - 1;
    body += `${name === basename(file) ? text : readFileSync(join(dir, name), "utf8")}\n`;
  }
  return { code: `${header}${body}})\n`, start, lines: text.split("\n").length };
}

const spans = new Map();

/** Lints each prelude fragment inside the assembled prelude function. */
const preludeProcessor = {
  meta: { name: "warden-prelude" },
  supportsAutofix: false,
  preprocess(text, filename) {
    const { code, start, lines } = assemblePrelude(filename, text);
    spans.set(filename, { start, lines });
    return [{ text: code, filename: "prelude.js" }];
  },
  postprocess(messages, filename) {
    const span = spans.get(filename);
    return messages
      .flat()
      .filter((m) => m.line > span.start && m.line <= span.start + span.lines)
      .map((m) => ({ ...m, line: m.line - span.start, ...(m.endLine === undefined ? {} : { endLine: m.endLine - span.start }), fix: undefined }));
  },
};

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "examples/plugins/", ".warden/", "schema/", "native/node20/node_modules/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Type-only namespaces merged with a value (isolate/ivm.ts) are how a loaded module keeps its types.
      "@typescript-eslint/no-namespace": ["error", { allowDeclarations: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // node:test's describe/it return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": ["error", { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] }] }],
      // An async method without await is how this codebase meets a Promise-returning interface
      // (capability ports, benchmark mechanisms); the rule would only trade `async` for Promise.resolve.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The plugin API's declarations describe the isolate's globals, not this project's: they are
    // type-checked against the example plugins (test/plugin-types.test.ts), not in tsconfig.json.
    files: ["types/**/*.d.ts"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false } },
  },
  {
    files: ["bin/**/*.js", "eslint.config.js", "native/**/*.cjs"],
    languageOptions: { globals: { process: "readonly", require: "readonly", module: "writable", console: "readonly" } },
  },
  {
    // The console's dashboard runs in a browser, as a module: the browser globals it uses, no Node.
    files: ["core/console/dashboard/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: Object.fromEntries(
        "window document location history fetch AbortController TextDecoder URLSearchParams FormData Node HTMLElement setTimeout clearTimeout setInterval clearInterval"
          .split(" ")
          .map((name) => [name, "readonly"]),
      ),
    },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["isolate/prelude/*.js"],
    processor: preludeProcessor,
  },
  {
    // The assembled prelude runs in a bare V8 isolate: ECMAScript's globals only, no Node, no DOM.
    files: ["**/*_prelude.js"],
    languageOptions: { sourceType: "script", globals: {} },
    rules: { "no-empty": ["error", { allowEmptyCatch: true }] },
  },
);
