// The one door to isolated-vm. No isolated-vm release has a native build for every Node line warden
// supports: 5.x compiles from source on Node 20 only, 6.x ships prebuilt binaries for Node 22, 7.x
// for Node 24. package.json lists one package per line as an optional dependency whose engines
// field lets npm install it only on that line (see native/node20/); this module loads the one
// built for the running Node's module ABI, or fails naming the Node version and what to do.
// Every other file imports isolated-vm from here (test/architecture.test.ts checks it); the types
// come from whichever build is installed (tsconfig.json's paths: the three declare the same API).
import { createRequire } from "node:module";
import type IsolatedVM from "isolated-vm";

/** The isolated-vm package built for one Node line. */
export type IvmBuild = { readonly node: string; readonly pkg: string };

/** The package that carries the isolated-vm build for each Node module ABI (process.versions.modules). */
export const IVM_BUILDS: Readonly<Record<string, IvmBuild>> = {
  "115": { node: "20", pkg: "warden-isolated-vm-node20" },
  "127": { node: "22", pkg: "isolated-vm-6" },
  "137": { node: "24", pkg: "isolated-vm-7" },
};

/** What was loaded: the isolated-vm module, its version and the package that carried it. */
export type LoadedIvm = { readonly ivm: typeof IsolatedVM; readonly version: string; readonly pkg: string };

const SUPPORTED = "Node 20.11+, 22 or 24";

/** Load the isolated-vm build for `abi` through `load` (a require), or throw an error naming the Node version and the fix. */
export function loadIsolatedVm(abi: string, nodeVersion: string, load: (id: string) => unknown): LoadedIvm {
  const build = IVM_BUILDS[abi];
  if (build === undefined) {
    throw new Error(`warden runs on ${SUPPORTED}; this is Node ${nodeVersion} (module ABI ${abi}), for which no isolated-vm build exists. Switch to Node 24 or 22 (LTS), then run npm install again.`);
  }
  let loaded: unknown;
  try {
    loaded = load(build.pkg);
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new Error(
      `warden could not load isolated-vm for Node ${build.node} (package ${build.pkg}) on Node ${nodeVersion}: ${why}. ` +
        `node_modules was probably installed with another Node version, or the native build failed: run npm install (or npm rebuild) with Node ${nodeVersion}` +
        (build.node === "20" ? "; on Node 20 isolated-vm is compiled from source and needs python3, make and g++." : "."),
      { cause: e },
    );
  }
  if (build.node === "20") {
    const shim = loaded as { ivm: typeof IsolatedVM; version: string };
    return { ivm: shim.ivm, version: shim.version, pkg: build.pkg };
  }
  const { version } = load(`${build.pkg}/package.json`) as { version: string };
  return { ivm: loaded as typeof IsolatedVM, version, pkg: build.pkg };
}

const loadedIvm = loadIsolatedVm(process.versions.modules, process.version, createRequire(import.meta.url));

/** The isolated-vm version in use and the package that carried it (for reports such as the benchmarks'). */
export const IVM_VERSION: { readonly version: string; readonly pkg: string } = { version: loadedIvm.version, pkg: loadedIvm.pkg };

const ivm: typeof IsolatedVM = loadedIvm.ivm;

// The types other files name as `ivm.Isolate`, `ivm.Reference` and so on: a type-only namespace
// merged with the value above, so `import ivm from "./ivm.ts"` reads like `import ivm from "isolated-vm"`.
declare namespace ivm {
  export type Isolate = IsolatedVM.Isolate;
  export type Context = IsolatedVM.Context;
  export type Module = IsolatedVM.Module;
  export type Script = IsolatedVM.Script;
  export type HeapStatistics = IsolatedVM.HeapStatistics;
  export type Reference = IsolatedVM.Reference;
  export type ExternalCopy<T> = IsolatedVM.ExternalCopy<T>;
}

export default ivm;
