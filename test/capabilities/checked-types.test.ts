// Only a check can make what a port acts on (issue 16): CheckedPath, CheckedTarget and
// CheckedCommand have private constructors and module-private mints. The type half of this test is
// the build itself: every @ts-expect-error line below must FAIL to compile (tsc reports an unused
// directive otherwise), so a plain string, an object literal with the same fields, or a `new` of
// one of them is refused by the fs, HTTP and exec ports. The runtime half shows the Node ports
// also refuse a look-alike smuggled past the compiler, and accept what the checks return.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CheckedCommand, CheckedPath, CheckedTarget, createCapabilities, type Capabilities, type ExecPort, type FsPort, type HttpPort, type OpenedDir } from "../../capabilities/index.ts";
import { createNodeExec } from "../../core/sys/node-exec.ts";
import { createNodeFs } from "../../core/sys/node-fs.ts";
import { createNodeHttp } from "../../core/sys/node-net.ts";
import { checkedCommand, nodePorts, TEST_LIMITS } from "../helpers/ports.ts";
import { scratch, type Scratch } from "../helpers/plugin-dir.ts";

const LOOKS_LIKE_A_PATH = { lexical: "/etc/shadow", real: "/etc/shadow", exists: true, rule: "true", source: "permissions.read" };
const LOOKS_LIKE_A_TARGET = { url: new URL("http://169.254.169.254/"), port: 80, addresses: [{ address: "169.254.169.254", family: 4 as const }], rule: "true", source: "permissions.net" };
const LOOKS_LIKE_A_COMMAND = { file: "/bin/sh", argv0: "sh", rule: "true", source: "permissions.exec" };
const REQUEST = { method: "GET", headers: [], body: null, maxBodyBytes: 1024, signal: new AbortController().signal };
const RUN = { args: ["-c", "id"], env: new Map<string, string>(), stdin: null, maxOutputBytes: 1024, signal: new AbortController().signal };

/** Never called: it exists to be compiled. Each marked line is a fabrication the compiler must reject. */
export function fabrications(fs: FsPort, http: HttpPort, exec: ExecPort, dir: OpenedDir, command: CheckedCommand): void {
  // @ts-expect-error a plain string is not a CheckedPath
  void fs.openRead("/etc/shadow");
  // @ts-expect-error nor is an object literal with every public field (the brand is private)
  void fs.openRead(LOOKS_LIKE_A_PATH);
  // @ts-expect-error a held directory's entry name is a string, not a checked path
  void fs.openWrite(dir.entry("x"), dir, { create: true, append: false });
  // @ts-expect-error unlinking a plain path
  void fs.unlink("/etc/passwd", dir);
  // @ts-expect-error only the path check constructs one
  void new CheckedPath("/etc/shadow", "/etc/shadow", true, "true", "permissions.read");
  // @ts-expect-error a URL is not a CheckedTarget
  void http.request({ ...REQUEST, target: new URL("http://169.254.169.254/") });
  // @ts-expect-error nor is a literal with its fields
  void http.request({ ...REQUEST, target: LOOKS_LIKE_A_TARGET });
  // @ts-expect-error only the net check constructs one
  void new CheckedTarget(new URL("http://169.254.169.254/"), 80, [], { rule: "true", source: "permissions.net" });
  // @ts-expect-error a path is not a CheckedCommand
  void exec.run({ ...RUN, command: "/bin/sh" });
  // @ts-expect-error nor is a literal with its fields
  void exec.run({ ...RUN, command: LOOKS_LIKE_A_COMMAND });
  // @ts-expect-error only the exec check constructs one
  void new CheckedCommand("/bin/sh", "sh", "true", "permissions.exec", "/");
  // @ts-expect-error the working directory comes with the command, never as a string beside it
  void exec.run({ ...RUN, command, cwd: "/etc" });
  // @ts-expect-error and a command moves only into a directory the path check passed
  void command.in("/etc");
}

let s: Scratch;
let caps: Capabilities;

describe("checked types: only the check makes them, the Node ports take nothing else", () => {
  before(async () => {
    s = scratch();
    mkdirSync(join(s.root, "plugin/data"), { recursive: true });
    writeFileSync(join(s.root, "plugin/data/a.txt"), "mine");
    writeFileSync(join(s.root, "secret.txt"), "secret");
    caps = await createCapabilities({ pluginId: "p", pluginDir: join(s.root, "plugin"), grants: { read: ["data"] }, ports: nodePorts(), audit: { record: () => undefined }, limits: TEST_LIMITS });
  });
  after(() => s.cleanup());

  it("a look-alike smuggled past the compiler is refused by each Node port before any syscall", async () => {
    const smuggledPath = { ...LOOKS_LIKE_A_PATH, real: join(s.root, "secret.txt") } as unknown as CheckedPath;
    await assert.rejects(createNodeFs().openRead(smuggledPath), /only on a CheckedPath/);
    await assert.rejects(createNodeHttp().request({ ...REQUEST, target: LOOKS_LIKE_A_TARGET as unknown as CheckedTarget }), /only to a CheckedTarget/);
    await assert.rejects(createNodeExec().run({ ...RUN, command: LOOKS_LIKE_A_COMMAND as unknown as CheckedCommand }), /only a CheckedCommand/);
    assert.equal(CheckedPath.is(LOOKS_LIKE_A_PATH), false);
    assert.equal(CheckedTarget.is(LOOKS_LIKE_A_TARGET), false);
    assert.equal(CheckedCommand.is(LOOKS_LIKE_A_COMMAND), false);
    const command = await checkedCommand("/bin/pwd");
    assert.throws(() => command.in(LOOKS_LIKE_A_PATH as unknown as CheckedPath), /must be a CheckedPath from the path check/);
  });

  it("positive control: what the checks return is accepted", async () => {
    assert.equal(await caps.call("fs.readTextFile", ["data/a.txt"]), "mine");
    const command = await checkedCommand("/bin/echo");
    assert.equal(CheckedCommand.is(command), true);
    const r = await createNodeExec().run({ ...RUN, args: ["ok"], command });
    assert.equal(Buffer.from(r.stdout).toString(), "ok\n");
    // It runs where the check said: the plugin's directory unless a checked one was given.
    const home = join(s.root, "plugin");
    const pwd = await createNodeExec().run({ ...RUN, args: [], command: await checkedCommand("/bin/pwd", process.env["PATH"] ?? "", home) });
    assert.equal(Buffer.from(pwd.stdout).toString().trim(), home);
  });
});
