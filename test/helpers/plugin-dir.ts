// Writes a throw-away plugin directory (manifest + files) for one test.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A temporary directory holding one or more plugins; `cleanup` removes it. */
export type Scratch = { readonly root: string; plugin(name: string, manifest: object, files: Record<string, string>, links?: Record<string, string>): string; cleanup(): void };

/** Create a scratch directory for plugins. */
export function scratch(): Scratch {
  const root = mkdtempSync(join(tmpdir(), "warden-test-"));
  return {
    root,
    plugin(name, manifest, files, links = {}) {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest, null, 2));
      for (const [rel, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, rel)), { recursive: true });
        writeFileSync(join(dir, rel), text);
      }
      for (const [rel, target] of Object.entries(links)) {
        mkdirSync(dirname(join(dir, rel)), { recursive: true });
        symlinkSync(target, join(dir, rel));
      }
      return dir;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A minimal valid manifest with `extra` merged in. */
export function manifest(id: string, extra: object = {}): object {
  return { id, name: id, version: "1.0.0", engines: { warden: ">=0.1.0 <1.0.0" }, ...extra };
}

/** The repository root (tests run from dist/test/...). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
