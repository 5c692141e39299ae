// Property-based tests: whatever a manifest author or a plugin sends, warden answers with a result
// or a clear, coded error, never a host exception. CI runs a few hundred cases per property;
// `npm run test:fuzz` sets FUZZ_RUNS for a long run.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { createCapabilities, OPERATIONS, OperationError, type Capabilities } from "../../capabilities/index.ts";
import { isWardenError } from "../../errors/index.ts";
import { validateManifest } from "../../manifests/read-manifest.ts";
import { describeGrants } from "../../manifests/grant-table.ts";
import { nodePorts, TEST_LIMITS } from "../helpers/ports.ts";
import { scratch, type Scratch } from "../helpers/plugin-dir.ts";

const RUNS = Number(process.env["FUZZ_RUNS"] ?? 300);

const grantish = fc.oneof(
  fc.constant(true),
  fc.array(fc.oneof(fc.string(), fc.constantFrom("data/", "/etc", "*.example.org", "127.0.0.1:80", "[::1]", "10.0.0.0/8", "git", "AWS_*", "chat.*", "a.**", "../x", "", "0x7f.1", "http://x", "*"))),
  fc.jsonValue(),
);

const manifestish = fc.record(
  {
    id: fc.oneof(fc.constantFrom("acme.weather", "a.b", "A.B", "x", "a..b", "a/b", ""), fc.string()),
    name: fc.oneof(fc.string(), fc.jsonValue()),
    version: fc.oneof(fc.constantFrom("1.0.0", "1", "v1.2.3", "1.0.0-beta.1"), fc.string()),
    main: fc.oneof(fc.constantFrom("index.js", "../x.js", "/abs.js", "a\\b.js"), fc.string()),
    engines: fc.oneof(fc.record({ warden: fc.oneof(fc.constantFrom(">=0.1.0 <1.0.0", "^9", "garbage"), fc.string()) }), fc.jsonValue()),
    permissions: fc.oneof(
      fc.record(
        {
          read: grantish,
          write: grantish,
          net: grantish,
          exec: grantish,
          env: grantish,
          plugins: grantish,
          channels: fc.oneof(fc.constant(true), fc.record({ publish: grantish, subscribe: grantish }, { requiredKeys: [] }), fc.jsonValue()),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    ),
    limits: fc.oneof(
      fc.record({ memoryMb: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()), cpuMs: fc.integer(), timeoutMs: fc.integer(), cpuMsPerMinute: fc.integer() }, { requiredKeys: [] }),
      fc.jsonValue(),
    ),
    dependencies: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
    config: fc.jsonValue(),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe("fuzz: manifest parser", () => {
  it("any JSON value gives a manifest or a list of problems naming a field, never an exception", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), manifestish), (json) => {
        const r = validateManifest(json, "0.1.0", "/plugins/fuzz");
        if (r.ok) {
          for (const w of r.warnings) assert.equal(typeof w.message, "string");
          for (const row of describeGrants(r.manifest, "/plugins/fuzz")) assert.equal(typeof row.covers, "string");
        } else {
          assert.ok(r.problems.length > 0);
          for (const p of r.problems) {
            assert.equal(typeof p.field, "string");
            assert.ok(p.message.length > 0);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe("fuzz: capability bridge arguments", () => {
  let s: Scratch;
  let caps: Capabilities;
  before(async () => {
    s = scratch();
    const dir = s.plugin("fuzz", {}, { "data/ok.txt": "ok" });
    caps = await createCapabilities({
      pluginId: "test.fuzz",
      pluginDir: dir,
      grants: { read: ["data/"], write: ["data/"], env: ["FUZZ_*"], exec: ["echo"], channels: { publish: ["a.*"], subscribe: ["a.**"] } },
      ports: nodePorts(),
      audit: { record: () => undefined },
      limits: TEST_LIMITS,
    });
  });
  after(() => s.cleanup());

  const op = fc.oneof(fc.constantFrom(...Object.keys(OPERATIONS)), fc.string());
  const arg = fc.oneof(
    fc.jsonValue(),
    fc.constantFrom("data/ok.txt", "data/new.txt", "/etc/passwd", "../x", "", "a\u0000b", "http://127.0.0.1/", "echo", "FUZZ_X", "a.b"),
    fc.record(
      {
        name: fc.constantFrom("read", "write", "net", "exec", "env", "channels", "plugins", "nope"),
        path: fc.jsonValue(),
        host: fc.string(),
        command: fc.string(),
        variable: fc.string(),
        topic: fc.string(),
        direction: fc.string(),
        id: fc.string(),
      },
      { requiredKeys: ["name"] },
    ),
  );

  it("any operation with any arguments resolves or rejects with a coded error, never a host exception", async () => {
    await fc.assert(
      fc.asyncProperty(op, fc.array(arg, { maxLength: 4 }), async (name, args) => {
        const ctx = { deadline: Date.now() + 2000, signal: new AbortController().signal };
        try {
          const sync = caps.callSync(name, args);
          if (sync !== null) JSON.stringify(sync.value);
        } catch (e) {
          assert.ok(isWardenError(e) || e instanceof OperationError, `callSync(${name}) threw ${String(e)}`);
        }
        try {
          const value = await caps.call(name, args, ctx);
          JSON.stringify(value);
        } catch (e) {
          assert.ok(isWardenError(e) || e instanceof OperationError, `call(${name}, ${JSON.stringify(args)}) threw ${(e as Error).name}: ${(e as Error).message}`);
          assert.equal(typeof (e as { code?: unknown }).code, "string");
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
