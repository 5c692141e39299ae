// The isolated-vm loader picks the build for the running Node line, and on a line it has no build
// for (or when node_modules was installed by another Node) it fails with a message naming the Node
// version and what to do, instead of a bare "module not found" or an ABI mismatch.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import ivm, { IVM_BUILDS, IVM_VERSION, loadIsolatedVm } from "../../isolate/ivm.ts";

/** The isolated-vm major version each Node line must get. */
const MAJOR_BY_LINE: Record<string, string> = { "20": "5", "22": "6", "24": "7" };

describe("isolated-vm loader", () => {
  it("loads the build made for the running Node line, and it runs code", () => {
    const line = process.versions.node.split(".")[0] ?? "";
    assert.equal(IVM_BUILDS[process.versions.modules]?.node, line, `no build mapped for Node ${process.version} (ABI ${process.versions.modules})`);
    assert.equal(IVM_VERSION.version.split(".")[0], MAJOR_BY_LINE[line], `Node ${line} got isolated-vm ${IVM_VERSION.version} from ${IVM_VERSION.pkg}`);
    const isolate = new ivm.Isolate({ memoryLimit: 8 });
    try {
      assert.equal(isolate.compileScriptSync("6 * 7").runSync(isolate.createContextSync()), 42);
    } finally {
      isolate.dispose();
    }
  });

  it("each supported line maps to its own package", () => {
    assert.deepEqual(
      Object.values(IVM_BUILDS).map((b) => `${b.node}:${b.pkg}`),
      ["20:warden-isolated-vm-node20", "22:isolated-vm-6", "24:isolated-vm-7"],
    );
  });

  it("an unsupported Node line gets an error naming its version and the supported ones, without loading anything", () => {
    for (const [abi, version] of [
      ["141", "v25.1.0"],
      ["108", "v18.20.0"],
      ["147", "v26.0.0"],
    ] as const) {
      const asked: string[] = [];
      assert.throws(
        () => loadIsolatedVm(abi, version, (id) => asked.push(id)),
        (e: Error) => e.message.includes(`Node ${version} (module ABI ${abi})`) && e.message.includes("Node 20.11+, 22 or 24") && e.message.includes("npm install"),
      );
      assert.deepEqual(asked, []);
    }
  });

  it("a supported line whose build is missing names the package, the Node version and the fix", () => {
    const missing = (id: string): never => {
      throw Object.assign(new Error(`Cannot find module '${id}'\nRequire stack:\n- /x/isolate/ivm.js`), { code: "MODULE_NOT_FOUND" });
    };
    assert.throws(
      () => loadIsolatedVm("127", "v22.23.5", missing),
      (e: Error) =>
        e.message.includes("isolated-vm for Node 22 (package isolated-vm-6) on Node v22.23.5") &&
        e.message.includes("run npm install (or npm rebuild) with Node v22.23.5") &&
        !e.message.includes("Require stack"),
    );
    assert.throws(
      () => loadIsolatedVm("115", "v20.20.2", missing),
      (e: Error) => e.message.includes("warden-isolated-vm-node20") && e.message.includes("python3, make and g++"),
    );
  });

  it("positive control: a present build is returned with its version", () => {
    const fake = { Isolate: class {} };
    const load = (id: string): unknown => (id === "isolated-vm-7/package.json" ? { version: "7.0.1" } : id === "isolated-vm-7" ? fake : undefined);
    const loaded = loadIsolatedVm("137", "v24.22.3", load);
    assert.equal(loaded.ivm, fake);
    assert.equal(loaded.version, "7.0.1");
    const shim = loadIsolatedVm("115", "v20.20.2", (id) => (id === "warden-isolated-vm-node20" ? { ivm: fake, version: "5.0.4" } : undefined));
    assert.deepEqual([shim.ivm, shim.version], [fake, "5.0.4"]);
  });
});
