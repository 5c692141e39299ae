// `warden check` loads a plugin's module graph the way the sandbox will (imports resolved inside
// the plugin, TypeScript stripped, every module compiled and linked) without evaluating any of it,
// in a child process with a deadline (check-modules-child.ts), so a syntax error, a refused import
// or a missing entry module is found before an operator installs the plugin.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { fromDescriptor, PluginError, type WardenError } from "../../errors/index.ts";

/** Longest the module check may take, ms. */
const CHECK_DEADLINE_MS = 30_000;

const CHILD = fileURLToPath(new URL("./check-modules-child.js", import.meta.url));

/** The modules found, or the error that stopped the loader. */
export type ModuleCheck = { readonly ok: true; readonly files: readonly string[] } | { readonly ok: false; readonly error: WardenError };

/** Load (compile and link, never run) the plugin's modules in a child process. */
export function checkPluginModules(dir: string, main: string): Promise<ModuleCheck> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--no-node-snapshot", CHILD, dir, main], { timeout: CHECK_DEADLINE_MS, maxBuffer: 4 * 1024 * 1024, killSignal: "SIGKILL" }, (err, stdout) => {
      const line = stdout.trim().split("\n").at(-1) ?? "";
      try {
        const r = JSON.parse(line) as { ok: boolean; files?: string[]; error?: unknown };
        if (r.ok && Array.isArray(r.files)) return resolve({ ok: true, files: r.files });
        if (!r.ok && r.error !== undefined) return resolve({ ok: false, error: fromDescriptor(r.error as { code?: unknown; message?: unknown }) });
      } catch {
        // No answer: the checker died or ran out of time; say which.
      }
      const how = err?.killed ? `took longer than ${CHECK_DEADLINE_MS / 1000} s` : err?.signal ? `was ended by ${err.signal}` : `exited with status ${err?.code ?? "unknown"}`;
      resolve({ ok: false, error: new PluginError(`compiling the plugin's modules ${how}; the code is too large or hostile to load`) });
    });
  });
}
