// A granted command under bubblewrap, run through the ExecPort warden uses (createNodeExec with the
// execWrap hook), as a hostile plugin would steer it: reading and writing past its grants,
// following a link it planted, remounting a read-only grant, reaching the network, seeing the
// host's processes, and outliving the host's timeout kill by leaving its process group. Each
// attack sits next to the legitimate use that must keep working.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BadInputError } from "../../errors/index.ts";
import { probeBubblewrap } from "../../core/os-sandbox/bwrap-probe.ts";
import { execCommand, execWrap, type ExecSandboxGrants } from "../../core/os-sandbox/exec-sandbox.ts";
import { createNodeExec, type ProcessGroupTracker } from "../../core/sys/node-exec.ts";
import { checkedCommand, isRunning } from "../helpers/ports.ts";
import { scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { commandLine, descendants, waitFor } from "../helpers/process-tree.ts";

const probe = await probeBubblewrap();
const skip = probe.available ? false : `bubblewrap cannot sandbox here: ${probe.reason}`;
const SH = "/bin/sh";

let s: Scratch;
let readDir: string;
let writeDir: string;
let outside: string;
let tcpPort = 0;
let tcpConnections = 0;
let closeServer: () => void = () => undefined;

function grants(over: Partial<ExecSandboxGrants> = {}): ExecSandboxGrants {
  return { bwrap: probe.path as string, read: [readDir], write: [writeDir], network: false, hidden: ["/proc", "/sys", "/dev"], protected: [], ownDir: null, ...over };
}

type Result = { code: number | null; signal: string | null; stdout: string; stderr: string };

async function run(
  file: string,
  args: string[],
  o: { grants?: ExecSandboxGrants | null; cwd?: string; env?: [string, string][]; signal?: AbortSignal; tracker?: ProcessGroupTracker } = {},
): Promise<Result> {
  const port = createNodeExec(process.env["PATH"] ?? "", o.tracker, o.grants === null ? undefined : execWrap(o.grants ?? grants()));
  const r = await port.run({
    command: await checkedCommand(file, process.env["PATH"] ?? "", o.cwd ?? readDir),
    args,
    env: new Map(o.env ?? [["PATH", "/usr/bin:/bin"]]),
    stdin: null,
    maxOutputBytes: 1 << 20,
    signal: o.signal ?? new AbortController().signal,
  });
  return { code: r.code, signal: r.signal, stdout: Buffer.from(r.stdout).toString(), stderr: Buffer.from(r.stderr).toString() };
}

describe("a granted command under bubblewrap (execCommand)", { skip }, () => {
  before(async () => {
    s = scratch();
    readDir = join(s.root, "grants", "read");
    writeDir = join(s.root, "grants", "write");
    outside = join(s.root, "outside");
    for (const d of [readDir, writeDir, outside, join(readDir, "nested-write")]) mkdirSync(d, { recursive: true });
    writeFileSync(join(readDir, "r.txt"), "readable");
    writeFileSync(join(outside, "secret.txt"), "not granted");
    const server = createServer((c) => {
      tcpConnections++;
      c.destroy();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    tcpPort = (server.address() as { port: number }).port;
    closeServer = () => server.close();
  });
  after(() => {
    closeServer();
    s?.cleanup();
  });

  it("positive control: cat reads a file in a read grant; attack: a file outside the grants, /etc/passwd", async () => {
    assert.deepEqual(await run("/bin/cat", [join(readDir, "r.txt")]), { code: 0, signal: null, stdout: "readable", stderr: "" });
    assert.equal((await run("/bin/cat", [join(outside, "secret.txt")], { grants: null })).stdout, "not granted", "control: unsandboxed, cat reads it");
    for (const p of [join(outside, "secret.txt"), "/etc/passwd", "/root"]) {
      const r = await run("/bin/cat", [p]);
      assert.notEqual(r.code, 0, p);
      assert.match(r.stderr, /No such file or directory/, p);
    }
  });

  it("positive control: writes in a write grant (and a write grant inside a read grant); attack: writes in a read grant", async () => {
    const g = grants({ write: [writeDir, join(readDir, "nested-write")] });
    assert.equal((await run(SH, ["-c", `echo hi > ${writeDir}/new.txt && echo hi > ${readDir}/nested-write/new.txt`], { grants: g })).code, 0);
    assert.equal(readFileSync(join(writeDir, "new.txt"), "utf8"), "hi\n");
    assert.equal(readFileSync(join(readDir, "nested-write", "new.txt"), "utf8"), "hi\n");
    const r = await run(SH, ["-c", `echo hi > ${readDir}/new.txt`], { grants: g });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Read-only file system/);
    assert.equal(existsSync(join(readDir, "new.txt")), false);
  });

  it("attack: remounting a read-only grant writable, or making a user namespace to regain the capability", async () => {
    const r = await run(SH, ["-c", `grep CapEff /proc/self/status; mount -o remount,bind,rw ${readDir}; echo pwned > ${readDir}/r.txt; unshare --user true && echo NESTED`]);
    assert.match(r.stdout, /^CapEff:\s+0+$/m, "no capability in the sandbox (as root, bwrap keeps them all unless told otherwise)");
    assert.equal(readFileSync(join(readDir, "r.txt"), "utf8"), "readable");
    assert.doesNotMatch(r.stdout, /NESTED/);
    assert.match(r.stderr, /Read-only file system/, "control: the write was attempted and refused");
  });

  it("attack: a command plants a link to / where a grant was; the next command's grant does not follow it", async () => {
    const planted = join(writeDir, "was-a-dir");
    mkdirSync(planted);
    const g = grants({ read: [readDir, planted], write: [writeDir] });
    const plant = await run(SH, ["-c", `rmdir ${planted} && ln -s / ${planted} && echo planted`], { grants: g });
    assert.equal(plant.stdout, "planted\n", "control: the write grant let it plant the link");
    const r = await run(SH, ["-c", `cat ${planted}/etc/passwd; ls ${planted}/root; cat ${outside}/secret.txt`], { grants: g });
    assert.doesNotMatch(r.stdout, /root:/);
    assert.doesNotMatch(r.stdout, /not granted/);
    // A read grant that is a link now (it was a directory at load) is not bound at all.
    const linked = join(s.root, "grants", "now-a-link");
    symlinkSync(outside, linked);
    assert.notEqual((await run("/bin/cat", [join(linked, "secret.txt")], { grants: grants({ read: [readDir, linked] }) })).code, 0);
  });

  it("attack: a program inside a write grant (a command could have replaced it) is refused before anything runs", async () => {
    const tool = join(writeDir, "tool.sh");
    writeFileSync(tool, "#!/bin/sh\necho tool\n", { mode: 0o755 });
    await assert.rejects(run(tool, []), (e: Error) => e instanceof BadInputError && /inside a write grant/.test(e.message));
    const bin = join(s.root, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "tool.sh"), "#!/bin/sh\necho tool\n", { mode: 0o755 });
    assert.equal((await run(join(bin, "tool.sh"), [])).stdout, "tool\n", "control: the same program outside the write grant runs (bound read-only)");
  });

  it("no network without network: true; with it, the host's loopback listener is reachable", async () => {
    const connect = `require("net").connect(${tcpPort}, "127.0.0.1").on("connect", () => { console.log("connected"); process.exit(0); }).on("error", (e) => { console.log(e.code); process.exit(3); })`;
    const before = tcpConnections;
    const denied = await run(process.execPath, ["-e", connect]);
    assert.equal(denied.stdout, "ECONNREFUSED\n", denied.stderr);
    assert.equal(tcpConnections, before);
    const allowed = await run(process.execPath, ["-e", connect], { grants: grants({ network: true }) });
    assert.equal(allowed.stdout, "connected\n", allowed.stderr);
    assert.equal(tcpConnections, before + 1);
  });

  it("has its own pid namespace and exactly the environment it was given", async () => {
    const r = await run(SH, ["-c", "echo $$; ls /proc | grep -c '^[0-9]'; env | sort"], {
      env: [
        ["PATH", "/usr/bin:/bin"],
        ["GREETING", "hello world"],
      ],
    });
    const [pid, count, ...env] = r.stdout.trim().split("\n");
    assert.equal(pid, "2", "pid 1 is bwrap's init");
    assert.ok(Number(count) <= 4, `only the sandbox's processes (init, sh, ls, grep): ${count}`);
    assert.deepEqual(env, ["GREETING=hello world", "PATH=/usr/bin:/bin", `PWD=${readDir}`]);
  });

  it("a cwd no grant covers is an empty directory of that name; a private /tmp is writable but capped", async () => {
    const r = await run(SH, ["-c", "pwd; ls -A; echo x > /tmp/x && echo tmp-ok; head -c 20000000 /dev/zero > /tmp/big || echo capped"], { cwd: outside });
    assert.deepEqual(r.stdout.split("\n"), [outside, "tmp-ok", "capped", ""]);
  });

  // The timeout only ends a run that would otherwise hang if the kill missed the sandbox.
  it("the host's timeout kill (its process group) ends the whole sandbox, a child that left the group with setsid included", { timeout: 120_000 }, async () => {
    const cmd = "sleep 1000 & setsid sleep 1001 >/dev/null 2>&1 & wait";
    const observe = async (grantsOrNull: ExecSandboxGrants | null) => {
      let pgid = 0;
      const abort = new AbortController();
      const done = run(SH, ["-c", cmd], { grants: grantsOrNull, signal: abort.signal, tracker: { started: (p) => (pgid = p), ended: () => undefined } });
      let sleeps: number[] = [];
      const started = await waitFor(() => {
        sleeps = pgid === 0 ? [] : descendants(pgid).filter((p) => /^sleep 100[01]$/.test(commandLine(p)));
        return sleeps.length === 2;
      });
      assert.ok(started, "both sleeps started");
      const tree = [pgid, ...descendants(pgid)];
      abort.abort();
      await done;
      return { tree, sleeps };
    };
    // Control: without the sandbox, the setsid child survives the group kill (so this test can tell).
    const plain = await observe(null);
    const survivor = plain.sleeps.find((p) => commandLine(p) === "sleep 1001");
    assert.ok(survivor !== undefined && (await waitFor(() => plain.sleeps.filter(isRunning).length === 1)) && isRunning(survivor), "control: unsandboxed, the setsid child outlives the kill");
    process.kill(survivor, "SIGKILL");

    const boxed = await observe(grants());
    assert.equal(await waitFor(() => !boxed.tree.some(isRunning)), true, `still running: ${boxed.tree.filter(isRunning).map(commandLine).join("; ")}`);
  });

  it("attack: /sys under a read grant of / (the bridge never covers it with a broad grant) is an empty directory; control: /usr is read", async () => {
    const g = grants({ read: ["/"] });
    const r = await run(SH, ["-c", "cat /sys/devices/system/cpu/online; ls -A /sys | wc -l; cat /etc/os-release >/dev/null && echo ETC"], { grants: g });
    // cat prints nothing (the host would say "0-N"), /sys holds 0 entries, /etc was read.
    assert.equal(r.stdout, "0\nETC\n");
    assert.match(r.stderr, /No such file or directory/, "cat finds no /sys/devices");
    const w = await run(SH, ["-c", "touch /sys/x && echo WROTE"], { grants: g });
    assert.doesNotMatch(w.stdout, /WROTE/, "the empty /sys is read-only");
  });

  it("attack: a write grant over a protected tree (another plugin, the plugins directory's files) writes nothing there; control: the plugin's own directory and data stay writable", async () => {
    const plugins = join(s.root, "plugins");
    const mine = join(plugins, "mine");
    const theirs = join(plugins, "theirs");
    for (const d of [mine, theirs]) mkdirSync(d, { recursive: true });
    writeFileSync(join(theirs, "index.js"), "original");
    writeFileSync(join(mine, "plugin.json"), "{}");
    const g = grants({
      read: [],
      write: [plugins, theirs],
      protected: [
        { path: plugins, tree: true },
        { path: join(mine, "plugin.json"), tree: false },
        { path: join(s.root, "audit", "log.jsonl"), tree: false },
      ],
      ownDir: mine,
    });
    mkdirSync(join(s.root, "audit"), { recursive: true });
    const withAudit = { ...g, write: [...g.write, join(s.root, "audit")] };
    const attack = await run(
      SH,
      ["-c", `echo x > ${theirs}/index.js; echo x > ${theirs}/new.js; echo {} > ${plugins}/t.x.config.json; echo x > ${mine}/plugin.json; echo x > ${s.root}/audit/log.jsonl; true`],
      { grants: withAudit },
    );
    assert.match(attack.stderr, /Read-only file system/);
    assert.equal(readFileSync(join(theirs, "index.js"), "utf8"), "original");
    assert.equal(existsSync(join(theirs, "new.js")), false);
    assert.equal(existsSync(join(plugins, "t.x.config.json")), false);
    assert.equal(readFileSync(join(mine, "plugin.json"), "utf8"), "{}");
    assert.equal(existsSync(join(s.root, "audit", "log.jsonl")), false, "a protected file that does not exist yet cannot be created");
    const ok = await run(SH, ["-c", `echo data > ${mine}/notes.txt && cat ${theirs}/index.js`], { grants: withAudit });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "original", "control: what a write grant covers stays readable");
    assert.equal(readFileSync(join(mine, "notes.txt"), "utf8"), "data\n", "control: the plugin's own directory is writable");
  });

  it("attack: without network, a Unix socket in a read grant is not reachable (socket(AF_UNIX) fails); controls: socketpair works, and with network the socket is reached", async () => {
    const sock = join(readDir, "service.sock");
    let hits = 0;
    const server = createServer((c) => {
      hits++;
      c.end("answer\n");
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const PERL = "/usr/bin/perl";
      const script = `use Socket; socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die "unix: $!\\n"; connect($s, pack_sockaddr_un("${sock}")) or die "connect: $!\\n"; print scalar <$s>;`;
      const r = await run(PERL, ["-e", script]);
      assert.equal(hits, 0);
      assert.match(r.stderr, /unix: Permission denied/, "socket(AF_UNIX) is refused with EACCES");
      const pair = await run(PERL, ["-e", `use Socket; socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die "pair: $!\\n"; print "paired\\n";`]);
      assert.equal(pair.stdout, "paired\n", pair.stderr);
      const inet = await run(PERL, ["-e", `use Socket; socket(my $s, AF_INET, SOCK_STREAM, 0) or die "inet: $!\\n"; print "inet\\n";`]);
      assert.equal(inet.stdout, "inet\n", `control: an IP socket is made (it reaches only the sandbox's own loopback): ${inet.stderr}`);
      const net = await run(PERL, ["-e", script], { grants: grants({ network: true }) });
      assert.equal(net.stdout, "answer\n", `control: with network the filter is not applied: ${net.stderr}`);
      assert.equal(hits, 1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("refuses what cannot be passed to bwrap safely: relative paths, environment names that are not names", () => {
    const base = { bwrap: "/usr/bin/bwrap", file: "/bin/true", args: [], cwd: "/", env: new Map<string, string>(), read: [], write: [], network: false, hidden: [], protected: [], ownDir: null };
    assert.throws(() => execCommand({ ...base, read: ["data"] }), BadInputError);
    assert.throws(() => execCommand({ ...base, cwd: "." }), BadInputError);
    assert.throws(() => execCommand({ ...base, env: new Map([["NODE_OPTIONS=--require=x", "y"]]) }), BadInputError);
    assert.ok(execCommand(base).args.includes("--cap-drop"), "control: a well-formed command is accepted");
  });
});
