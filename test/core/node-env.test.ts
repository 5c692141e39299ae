// The env port reads only the variables an environment holds: never a member it inherits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createNodeEnv } from "../../core/sys/node-env.ts";

describe("createNodeEnv", () => {
  it("reads the variables the environment holds (positive control), and nothing it inherits", () => {
    // An environment whose prototype carries a value, as a polluted Object.prototype would.
    const env = Object.assign(Object.create({ INHERITED: "from the prototype" }) as NodeJS.ProcessEnv, { API_KEY: "k", toString: "a real variable" });
    const port = createNodeEnv(env);
    assert.equal(port.get("API_KEY"), "k");
    assert.equal(port.get("toString"), "a real variable");
    for (const name of ["INHERITED", "__proto__", "constructor", "valueOf", "hasOwnProperty", "MISSING"]) assert.equal(port.get(name), undefined, name);
  });

  it("reads the host's process.env by default", () => {
    process.env["WARDEN_NODE_ENV_TEST"] = "yes";
    try {
      assert.equal(createNodeEnv().get("WARDEN_NODE_ENV_TEST"), "yes");
      assert.equal(createNodeEnv().get("__proto__"), undefined);
      assert.equal(createNodeEnv().get("constructor"), undefined);
    } finally {
      delete process.env["WARDEN_NODE_ENV_TEST"];
    }
  });
});
