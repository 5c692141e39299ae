// Warden.exec and Warden.env against real commands and a controlled environment. Attacks (shell
// metacharacters, LD_PRELOAD, PATH tricks, interpreters, enumeration) next to the granted use. The
// env policy is attacked through the real runtime in test/capabilities/exec-env-attacks.test.ts; here are
// its data (one list, coherent, rendered for the docs) and the Node port's part of it.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createCapabilities, EXEC_ENV_POLICY, execEnvPolicyMarkdown, MINIMAL_PATH, refusedEnvName, type AuditEvent, type Capabilities, type Grants } from "../../capabilities/index.ts";
import { createNodeExec } from "../../core/sys/node-exec.ts";
import { checkedCommand, isRunning, nodePorts, TEST_LIMITS } from "../helpers/ports.ts";
import { scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { FOUND_PAST_NAMES } from "../helpers/env-neighbours.ts";

let s: Scratch;
let dir: string;
const events: AuditEvent[] = [];
const HOST_PATH = "/usr/local/bin:/usr/bin:/bin";

async function caps(grants: Grants, env: Record<string, string> = {}): Promise<Capabilities> {
  return createCapabilities({
    pluginId: "test.runner",
    pluginDir: dir,
    grants,
    ports: nodePorts({ exec: createNodeExec(HOST_PATH), env: { get: (n) => env[n] } }),
    audit: { record: (e) => events.push(e) },
    limits: { ...TEST_LIMITS, execOutputBytes: 4096 },
  });
}

async function denied(c: Capabilities, op: string, args: unknown[], expect: RegExp, permission: string, value: unknown = args[0]): Promise<void> {
  const before = events.length;
  await assert.rejects(c.call(op, args), (e: Error & { code?: string }) => {
    assert.equal(e.code, "PERMISSION_DENIED", e.message);
    assert.match(e.message, expect);
    return true;
  });
  const rec = events.slice(before).find((r) => r.type === "deny");
  assert.equal(rec?.permission, permission, "the denial must be audited");
  assert.equal(rec?.value, value);
}

type Run = { code: number | null; signal: string | null; stdout: string; stderr: string };

describe("exec capability", () => {
  before(() => {
    s = scratch();
    dir = s.plugin("runner", {}, { "data/x.txt": "x" });
    // A look-alike `echo` the plugin controls (its own directory): it must never be what runs.
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin/echo"), "#!/bin/sh\necho HIJACKED\n");
    chmodSync(join(dir, "bin/echo"), 0o755);
  });
  after(() => s.cleanup());

  it("positive control: runs a granted command with its args passed as is, no shell (metacharacters stay text)", async () => {
    const c = await caps({ exec: ["echo"] });
    const r = (await c.call("exec", ["echo", ["a; rm -rf /tmp/x", "$(id)", "`id`", "| cat", "&& true"]])) as Run;
    assert.deepEqual(r, { code: 0, signal: null, stdout: "a; rm -rf /tmp/x $(id) `id` | cat && true\n", stderr: "" });
    const use = events.filter((e) => e.type === "use" && e.permission === "exec").at(-1);
    assert.equal(use?.resolved, await createNodeExec(HOST_PATH).which("echo"));
    assert.match(use?.value ?? "", /^"echo" "a; rm -rf \/tmp\/x"/, "the audit names the command and its args");
    assert.equal(use?.rule, "echo");
    assert.equal(use?.source, "permissions.exec[0]");
  });

  it("the child's environment is exactly what the plugin passed plus a minimal PATH", async () => {
    const c = await caps({ exec: ["env"] });
    const r = (await c.call("exec", ["env", [], { env: { GREETING: "hi" } }])) as Run;
    assert.deepEqual(r.stdout.trim().split("\n").sort(), [`GREETING=hi`, `PATH=${MINIMAL_PATH}`]);
  });

  it("refuses LD_PRELOAD, DYLD_*, NODE_OPTIONS and PATH in the child's environment (D19), and records the attempt as a denial of exec", async () => {
    const c = await caps({ exec: ["env"] });
    for (const name of ["LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "NODE_OPTIONS", "PATH"]) {
      const before = events.length;
      await assert.rejects(c.call("exec", ["env", [], { env: { [name]: "/tmp/evil.so" } }]), (e: Error & { code?: string }) => {
        assert.equal(e.code, "BAD_INPUT");
        assert.match(e.message, new RegExp(`cannot set "${name}"`));
        return true;
      });
      const deny = events.slice(before).find((e) => e.type === "deny");
      assert.equal(deny?.permission, "exec");
      assert.equal(deny?.value, "env");
      assert.equal(deny?.envKey, name);
    }
  });

  it("the env policy is one coherent list: upper-case patterns, exceptions only inside a refused family, every pattern rendered for the docs", () => {
    const exact = EXEC_ENV_POLICY.refused.filter((r) => r.kind === "name").flatMap((r) => r.patterns);
    for (const rule of EXEC_ENV_POLICY.refused) {
      assert.ok(rule.reason.length > 10 && !rule.reason.includes("\n"), `a one-line reason for ${rule.patterns.join(", ")}`);
      for (const p of rule.patterns) {
        assert.equal(p, p.toUpperCase(), `${p} is written in upper case (names are compared in upper case)`);
        assert.match(p, /^[A-Z0-9_]+$/, p);
        const example = rule.kind === "prefix" ? `${p}X` : rule.kind === "suffix" ? `X${p}` : p;
        // Families overlap (a name may end in PATH and start with LUA_): refused by some rule is what counts.
        assert.notEqual(refusedEnvName(example), null, `${example} is refused`);
        assert.notEqual(refusedEnvName(example.toLowerCase()), null, `${example.toLowerCase()} too`);
      }
    }
    for (const e of EXEC_ENV_POLICY.allowed) {
      for (const name of e.names) {
        assert.ok(!exact.includes(name), `${name} is an exception, so no exact rule may name it`);
        const family = EXEC_ENV_POLICY.refused.some((r) => r.patterns.some((p) => (r.kind === "prefix" && name.startsWith(p)) || (r.kind === "suffix" && name.endsWith(p))));
        assert.ok(family, `${name} is an exception to a family that is refused`);
        assert.equal(refusedEnvName(name), null);
      }
    }
    for (const name of ["GREETING", "LANG", "LC_ALL", "TZ", "HTTPS_PROXY", "API_KEY", "LESSON", "NODEJS", "__proto__"]) assert.equal(refusedEnvName(name), null, name);
    // Shapes, not only names: the neighbours an attack pass found past a list of names.
    for (const name of [...FOUND_PAST_NAMES, "DATA_DIR"]) {
      assert.notEqual(refusedEnvName(name), null, name);
    }
    const md = execEnvPolicyMarkdown();
    assert.equal(md.split("\n").filter((l) => l.startsWith("| `")).length, EXEC_ENV_POLICY.refused.length, "one table row per rule");
    for (const r of EXEC_ENV_POLICY.refused) for (const p of r.patterns) assert.ok(md.includes(p), p);
    for (const e of EXEC_ENV_POLICY.allowed) for (const n of e.names) assert.ok(md.includes(`\`${n}\``), n);
  });

  it("the Node port builds the child's environment without a prototype: nothing added to Object.prototype reaches the child", async () => {
    const polluted = Object.prototype as Record<string, unknown>;
    polluted["LD_PRELOAD"] = "/tmp/evil.so";
    try {
      const command = await checkedCommand("env", HOST_PATH, dir);
      const r = await createNodeExec(HOST_PATH).run({
        command,
        args: [],
        env: new Map([
          ["GREETING", "hi"],
          ["__proto__", "plain"],
        ]),
        stdin: null,
        maxOutputBytes: 4096,
        signal: new AbortController().signal,
      });
      assert.deepEqual(Buffer.from(r.stdout).toString("utf8").trim().split("\n").sort(), ["GREETING=hi", "__proto__=plain"]);
    } finally {
      delete polluted["LD_PRELOAD"];
    }
  });

  it("a command outside the grant is denied, however it is named (PATH tricks, D20)", async () => {
    const c = await caps({ exec: ["echo"] });
    await denied(c, "exec", [join(dir, "bin/echo"), ["x"]], /no rule in permissions\.exec resolves to .*\/runner\/bin\/echo/, "exec");
    await denied(c, "exec", ["sh", ["-c", "id"]], /requires exec access to "\/usr\/bin\/sh" \(resolved from "sh"\)/, "exec");
    await denied(c, "exec", ["definitely-not-a-command-xyz"], /not an executable on the host's PATH/, "exec");
    await assert.rejects(c.call("exec", ["bin/echo"]), { code: "BAD_INPUT" }, "a relative path is neither a name nor absolute");
    await assert.rejects(c.call("exec", ["./echo"]), { code: "BAD_INPUT" });
  });

  it("an absolute path is granted when it is the same file the granted name resolves to", async () => {
    const c = await caps({ exec: ["echo"] });
    const which = await createNodeExec(HOST_PATH).which("echo");
    assert.ok(which);
    assert.equal(((await c.call("exec", [which, ["ok"]])) as Run).stdout, "ok\n");
  });

  it("a granted name not on PATH grants nothing and is reported", async () => {
    const c = await caps({ exec: ["definitely-not-a-command-xyz", "echo"] });
    assert.deepEqual(
      c.unresolvedExec.map((r) => r.field),
      ["permissions.exec[0]"],
    );
  });

  it("cwd must be inside a read grant (positive control: it is)", async () => {
    const c = await caps({ exec: ["pwd"], read: ["data/"] });
    assert.equal(((await c.call("exec", ["pwd", [], { cwd: "data" }])) as Run).stdout.trim(), realpathSync(join(dir, "data")));
    await denied(c, "exec", ["pwd", [], { cwd: "/etc" }], /requires read access to "\/etc"/, "read", "/etc");
  });

  it("stdin is passed; output past limits.execOutputBytes kills the command", async () => {
    const c = await caps({ exec: ["cat", "yes"] });
    assert.equal(((await c.call("exec", ["cat", [], { stdin: "from stdin" }])) as Run).stdout, "from stdin");
    await assert.rejects(c.call("exec", ["yes"]), (e: Error & { code?: string }) => e.code === "TooLarge" && /limits\.execOutputBytes/.test(e.message));
  });

  it("when the call's time runs out, the command's whole process group is killed", async () => {
    const c = await caps({ exec: ["sh"] });
    const pidFile = join(s.root, "bg.pid");
    const ctx = { deadline: Date.now() + 400, signal: new AbortController().signal };
    await assert.rejects(c.call("exec", ["sh", ["-c", `sleep 30 & echo $! > ${pidFile}; wait`]], ctx), { code: "Timeout" });
    assert.ok(existsSync(pidFile));
    const pid = Number(readFileSync(pidFile, "utf8"));
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      alive = isRunning(pid);
      if (alive) await new Promise((r) => setTimeout(r, 40));
    }
    assert.equal(alive, false, "the background child of the command was killed with its group");
  });

  it("answers exec queries with the rule and its source", async () => {
    const c = await caps({ exec: ["echo"] });
    assert.deepEqual(await c.call("permissions.query", [{ name: "exec", command: "echo" }]), { state: "granted", rule: "echo", source: "permissions.exec[0]" });
    assert.deepEqual(await c.call("permissions.query", [{ name: "exec", command: "sh" }]), { state: "denied" });
    assert.deepEqual(await c.call("permissions.query", [{ name: "exec" }]), { state: "denied" });
  });
});

describe("env capability", () => {
  const env = { WARDEN_TEST_KEY: "k", WARDEN_APP_MODE: "dev", WARDEN_APPX: "no", HOME: "/root", SECRET: "s" };

  it("positive control: exact names and PREFIX_* patterns are read; granted but unset is undefined (null over the bridge)", async () => {
    const c = await caps({ env: ["WARDEN_TEST_KEY", "WARDEN_APP_*", "WARDEN_UNSET"] }, env);
    assert.equal(await c.call("env.get", ["WARDEN_TEST_KEY"]), "k");
    assert.equal(await c.call("env.get", ["WARDEN_APP_MODE"]), "dev");
    assert.equal(await c.call("env.get", ["WARDEN_UNSET"]), null);
    const use = events.filter((e) => e.type === "use" && e.permission === "env").at(-2);
    assert.equal(use?.source, "permissions.env[1]");
  });

  it("an ungranted name is PERMISSION_DENIED, not undefined, and audited", async () => {
    const c = await caps({ env: ["WARDEN_TEST_KEY", "WARDEN_APP_*"] }, env);
    await denied(c, "env.get", ["SECRET"], /requires env access to "SECRET"/, "env");
    await denied(c, "env.get", ["HOME"], /HOME/, "env");
    await denied(c, "env.get", ["WARDEN_TEST_KEY2"], /WARDEN_TEST_KEY2/, "env");
    await denied(c, "env.get", ["WARDEN_APPX"], /WARDEN_APPX/, "env");
  });

  it("nothing can be enumerated: no list operation, no wildcard names", async () => {
    const c = await caps({ env: ["WARDEN_APP_*"] }, env);
    await assert.rejects(c.call("env.list", []), { code: "BAD_INPUT" });
    for (const name of ["*", "WARDEN_APP_*", "A=B", "", "1ABC"]) await assert.rejects(c.call("env.get", [name]), { code: "BAD_INPUT" }, name);
    assert.deepEqual(await c.call("permissions.query", [{ name: "env", variable: "WARDEN_APP_MODE" }]), { state: "granted", rule: "WARDEN_APP_*", source: "permissions.env[0]" });
    assert.deepEqual(await c.call("permissions.query", [{ name: "env", variable: "HOME" }]), { state: "denied" });
  });
});
