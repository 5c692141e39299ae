// `warden new <dir> [--id ID] [--ts]`: a plugin an author can open in an editor and run at once.
// Every path it writes into the plugin (the manifest's $schema, the plugin API's types, the
// library the test imports) leads to THIS installed warden, so an editor completes plugin.json
// and the Warden API offline, and the test runs against the warden that made it. When the plugin
// directory can resolve the package by name (it lives in a project that depends on warden), the
// names are used ("warden", "warden/plugin"); otherwise relative paths into the installation.
// The files are written into a fresh directory beside the target and renamed into place, so an
// interrupted run leaves nothing half-made, and an existing non-empty directory is never touched.
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import semver from "semver";
import { BadInputError, quote } from "../../errors/index.ts";
import { WARDEN_VERSION } from "../version.ts";
import { checkPluginId, MANIFEST_FILE } from "../../manifests/index.ts";

/** What to scaffold. */
export type NewPluginOptions = { readonly dir: string; readonly id?: string; readonly typescript: boolean };

/** What was made. */
export type NewPlugin = { readonly dir: string; readonly id: string; readonly main: string; readonly files: readonly string[]; readonly linkedByName: boolean };

// This file is dist/core/cli/new-plugin.js in an installation: the package root is three up.
const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The id `warden new` proposes for a directory: "local.<its name>", or null if the name has no usable characters. */
export function defaultPluginId(dir: string): string | null {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return name === "" ? null : `local.${name}`;
}

function isEmptyDir(dir: string): boolean | null {
  try {
    return readdirSync(dir).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new BadInputError(`warden new: ${quote(dir)} cannot be used (${(e as NodeJS.ErrnoException).code ?? "error"}); choose a directory that does not exist yet`);
  }
}

/** Whether `dir` resolves the package "warden" to this installation (it lives in a project that depends on it). */
function resolvesUs(dir: string): boolean {
  try {
    const found = createRequire(join(dir, "noop.js")).resolve("warden/package.json");
    return realpathSync(dirname(found)) === realpathSync(PACKAGE_ROOT);
  } catch {
    return false;
  }
}

function relPath(fromDir: string, to: string): string {
  const r = relative(fromDir, to).split(sep).join("/");
  return r.startsWith(".") ? r : `./${r}`;
}

function title(id: string): string {
  const last = id.split(".").at(-1) ?? id;
  return last
    .split("-")
    .filter((w) => w !== "")
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(" ");
}

const ENTRY_COMMENT = `// Every exported function is an entry a host calls with JSON input and gets JSON back from;
// onLoad, onUnload, onConfigChange and health are hooks. The plugin reaches the world only through
// the Warden global (files, fetch, exec, env, channels, other plugins), and only as far as the
// "permissions" of plugin.json allow; it runs with the "limits" there. See warden's README.`;

function indexTs(): string {
  return `${ENTRY_COMMENT}
// Types are stripped when the plugin loads (no build step); stack traces point at these lines.
import type { EntryContext } from "warden/plugin";

interface HelloInput {
  name?: string;
}

/** Greet someone: warden run . hello --input '{"name":"Ada"}' */
export function hello(input: HelloInput | undefined, context: EntryContext): { message: string; caller: string } {
  if (input?.name !== undefined && typeof input.name !== "string") throw new TypeError("hello: name must be a string");
  return { message: \`Hello, \${input?.name ?? "world"}!\`, caller: context.caller };
}
`;
}

function indexJs(): string {
  return `${ENTRY_COMMENT}

/**
 * Greet someone: warden run . hello --input '{"name":"Ada"}'
 * @param {{ name?: string } | undefined} input
 * @param {import("warden/plugin").EntryContext} context
 */
export function hello(input, context) {
  if (input?.name !== undefined && typeof input.name !== "string") throw new TypeError("hello: name must be a string");
  return { message: \`Hello, \${input?.name ?? "world"}!\`, caller: context.caller };
}
`;
}

function testJs(library: string, main: string): string {
  return `// Runs this plugin through warden's library, as a host would: npm test
// (node --no-node-snapshot --test; warden's isolates need --no-node-snapshot).
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadPlugin, memoryAuditLog } from ${JSON.stringify(library)};

const dir = fileURLToPath(new URL(".", import.meta.url));

test("hello greets by name and says who called", async () => {
  const plugin = await loadPlugin(dir, { audit: memoryAuditLog() });
  try {
    assert.deepEqual(await plugin.invoke("hello", { name: "Ada" }), { message: "Hello, Ada!", caller: "host" });
    assert.deepEqual(await plugin.invoke("hello"), { message: "Hello, world!", caller: "host" });
  } finally {
    await plugin.close();
  }
});

test("a bad input fails with the plugin's own stack, at ${main}'s line", async () => {
  const plugin = await loadPlugin(dir, { audit: memoryAuditLog() });
  try {
    await assert.rejects(plugin.invoke("hello", { name: 42 }), (e) => {
      assert.equal(e.code, "PLUGIN_ERROR");
      assert.match(e.message, /name must be a string/);
      assert.match(String(e.details.pluginStack), /${main.replace(".", "\\.")}:\\d+:\\d+/);
      return true;
    });
  } finally {
    await plugin.close();
  }
});
`;
}

function tsconfig(typescript: boolean, linkedByName: boolean, typesPath: string): string {
  const options: Record<string, unknown> = {
    target: "ES2023",
    // The isolate has ECMAScript and warden's API only: no DOM, no Node.js types.
    lib: ["ES2023"],
    types: linkedByName ? ["warden/plugin"] : [],
    module: "ESNext",
    moduleResolution: "Bundler",
    ...(linkedByName ? {} : { paths: { "warden/plugin": [typesPath] } }),
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    // warden erases types and runs the rest: enums, namespaces and parameter properties would be refused at load.
    erasableSyntaxOnly: true,
    ...(typescript ? {} : { allowJs: true, checkJs: true }),
    strict: true,
    noEmit: true,
  };
  const include = [typescript ? "**/*.ts" : "**/*.js", ...(linkedByName ? [] : [typesPath])];
  return `${JSON.stringify({ compilerOptions: options, include, exclude: ["**/*.test.js", "node_modules"] }, null, 2)}\n`;
}

/** Scaffold a plugin in a new (or empty) directory; BAD_INPUT naming the problem if it cannot. */
export function scaffoldPlugin(o: NewPluginOptions): NewPlugin {
  const dir = resolve(o.dir);
  const id = o.id ?? defaultPluginId(dir);
  if (id === null) throw new BadInputError(`warden new: cannot make a plugin id from the directory name ${quote(basename(dir))}; pass --id (e.g. --id acme.hello)`);
  const idProblem = checkPluginId(id);
  if (idProblem !== null) throw new BadInputError(`warden new: --id ${quote(id)}: ${idProblem}`, { field: "id", value: id });
  const empty = isEmptyDir(dir);
  if (empty === false) throw new BadInputError(`warden new: ${quote(dir)} exists and is not empty; warden new never overwrites files: choose a new directory`);

  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const linkedByName = resolvesUs(parent);
  const main = o.typescript ? "index.ts" : "index.js";
  const typesPath = relPath(dir, join(PACKAGE_ROOT, "types/plugin.d.ts"));
  const library = linkedByName ? "warden" : relPath(dir, join(PACKAGE_ROOT, "dist/core/index.js"));
  const parsed = semver.parse(WARDEN_VERSION);
  const range = parsed === null ? `>=${WARDEN_VERSION}` : `>=${parsed.major}.${parsed.minor}.0 <${parsed.major + 1}.0.0`;
  const manifest = {
    $schema: relPath(dir, join(PACKAGE_ROOT, "schema/plugin.schema.json")),
    id,
    name: title(id),
    version: "0.1.0",
    description: "What this plugin does, for the operator who approves it.",
    engines: { warden: range },
    main,
    // Nothing yet: add only what the plugin needs ("read": ["data/"], "net": ["api.example.org"]...).
    permissions: {},
  };
  const files: Record<string, string> = {
    [MANIFEST_FILE]: `${JSON.stringify(manifest, null, 2)}\n`,
    [main]: o.typescript ? indexTs() : indexJs(),
    "index.test.js": testJs(library, main),
    "tsconfig.json": tsconfig(o.typescript, linkedByName, typesPath),
    "package.json": `${JSON.stringify({ name: id, private: true, type: "module", scripts: { test: "node --no-node-snapshot --test", typecheck: "tsc -p ." } }, null, 2)}\n`,
  };

  const staging = mkdtempSync(join(parent, `.${basename(dir)}.warden-new-`));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(staging, name), text, { flag: "wx" });
    if (empty === true) rmdirSync(dir);
    renameSync(staging, dir);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw new BadInputError(`warden new: cannot create ${quote(dir)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); nothing was written`);
  }
  return { dir, id, main, files: Object.keys(files), linkedByName };
}
