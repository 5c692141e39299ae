// An engine as an attacker who has escaped V8 would use it: the same Node process, trying to read
// secrets, write files, reach the network, see the host's processes, or regain privileges. Each
// attempt runs twice: under engineCommand (must fail) and as a plain child of the test (must
// succeed, so each attempt is shown to detect the access it claims to test). What an engine needs
// (its channel to the host, warden's code and isolated-vm, its bound plugin directory) must keep working.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Duplex } from "node:stream";
import { pathToFileURL } from "node:url";
import { probeBubblewrap } from "../../core/os-sandbox/bwrap-probe.ts";
import { ENGINE_CHANNEL_FD, ENGINE_STDIO, engineCommand } from "../../core/os-sandbox/engine-sandbox.ts";
import { LineChannel } from "../../core/sys/line-channel.ts";
import { REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { isRunning } from "../helpers/ports.ts";
import { commandLine, descendants, waitFor } from "../helpers/process-tree.ts";

const probe = await probeBubblewrap();
const skip = probe.available ? false : `bubblewrap cannot sandbox here: ${probe.reason}`;
const IVM_URL = pathToFileURL(join(REPO_ROOT, "dist/isolate/ivm.js")).href;
const SECRET = "WARDEN_TEST_PARENT_SECRET";

// The engine-like child. It answers "ping" and runs the attempts it is sent, reporting each as
// { ok: true, value } or { ok: false, code }.
const ENGINE_SCRIPT = `import * as fs from "node:fs";
import * as net from "node:net";
import * as dns from "node:dns";
import { spawnSync } from "node:child_process";
const outcome = async (f) => { try { return { ok: true, value: await f() }; } catch (e) { return { ok: false, code: e.code ?? String(e.message).slice(0, 200) }; } };
const run = (file, args) => { const r = spawnSync(file, args, { encoding: "utf8" }); if (r.error) throw r.error; if (r.status !== 0) throw Object.assign(new Error(r.stderr), { code: "EXIT" + r.status }); return r.stdout; };
// The engines' channel: one JSON value per line on descriptor 3 (core/sys/line-channel.ts).
const channel = new net.Socket({ fd: 3, readable: true, writable: true });
const send = (v) => channel.write(JSON.stringify(v) + "\\n");
let input = "";
channel.setEncoding("utf8");
channel.on("data", (d) => {
  input += d;
  for (let i = input.indexOf("\\n"); i !== -1; i = input.indexOf("\\n")) {
    const line = input.slice(0, i);
    input = input.slice(i + 1);
    void handle(JSON.parse(line));
  }
});
channel.on("end", () => process.exit(0));
async function handle(m) {
  if (m.op === "ping") return send({ pong: true });
  const t = m.targets;
  const out = { env: { ...process.env }, pid: process.pid };
  out.isolate = await outcome(async () => { const { default: ivm } = await import(process.argv[2]); const iso = new ivm.Isolate({ memoryLimit: 8 }); const ctx = await iso.createContext(); const v = await ctx.eval("6 * 7"); iso.dispose(); return v; });
  out.reads = {};
  for (const p of t.reads) out.reads[p] = await outcome(() => fs.statSync(p).isDirectory() ? fs.readdirSync(p).join(",") : fs.readFileSync(p, "utf8"));
  out.writes = {};
  for (const p of t.writes) out.writes[p] = await outcome(() => { fs.writeFileSync(p, "written by the engine"); return true; });
  out.tcp = await outcome(() => new Promise((res, rej) => { const s = net.connect(t.tcpPort, "127.0.0.1", () => { s.destroy(); res(true); }); s.on("error", rej); }));
  out.lookup = await outcome(() => dns.promises.lookup("localhost"));
  out.query = await outcome(() => { const r = new dns.promises.Resolver({ timeout: 500, tries: 1 }); r.setServers(["127.0.0.1:" + t.dnsPort]); return r.resolve4("warden.example"); });
  out.procs = fs.readdirSync("/proc").filter((n) => /^[0-9]+$/.test(n)).map((n) => { try { return { pid: Number(n), cmd: fs.readFileSync("/proc/" + n + "/cmdline", "utf8").split("\\0").join(" ") }; } catch { return { pid: Number(n), cmd: "" }; } });
  out.capEff = fs.readFileSync("/proc/self/status", "utf8").match(/CapEff:\\s*(\\w+)/)[1];
  out.unshare = await outcome(() => run("/usr/bin/unshare", ["--user", "true"]));
  if (t.remount !== undefined) out.remount = await outcome(() => { run("/usr/bin/mount", ["-o", "remount,bind,rw", t.remount]); fs.writeFileSync(t.remount + "/after-remount", "x"); return true; });
  send(out);
}
`;

type Outcome = { ok: true; value: unknown } | { ok: false; code: string };
type Report = {
  env: Record<string, string>;
  pid: number;
  isolate: Outcome;
  reads: Record<string, Outcome>;
  writes: Record<string, Outcome>;
  tcp: Outcome;
  lookup: Outcome;
  query: Outcome;
  procs: { pid: number; cmd: string }[];
  capEff: string;
  unshare: Outcome;
  remount?: Outcome;
};

let s: Scratch;
let script: string;
let alpha: string;
let beta: string;
let gammaReal: string;
let gammaLink: string;
let hostCwd: string;
let tcpPort = 0;
let dnsPort = 0;
let tcpConnections = 0;
let dnsQueries = 0;
const closers: (() => void)[] = [];
let sandboxed: Report;
let plain: Report;
let tcpBefore = 0;
let dnsBefore = 0;

function talk(child: ChildProcess, message: object): Promise<Report> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const channel = new LineChannel(child.stdio[ENGINE_CHANNEL_FD] as Duplex, 64 * 1024 * 1024, {
      onMessage: (m) => resolve(m as Report),
      onViolation: (reason) => reject(new Error(`the engine sent ${reason}`)),
      onClose: () => {},
    });
    child.once("exit", (code, signal) => reject(new Error(`the engine exited (${code ?? signal}) before answering: ${stderr}`)));
    channel.send(message);
  });
}

// Writes the sandboxed engine tries; the plain control tries only the first (the others would
// really write on this machine).
const writeTargets = () => [join(alpha, "new.txt"), "/tmp/engine-was-here", "/engine-was-here", "/dev/shm/engine-was-here"];

async function attempt(child: ChildProcess, writes: string[], remount?: string): Promise<Report> {
  const targets = {
    reads: [join(alpha, "data.txt"), join(gammaLink, "data.txt"), join(gammaReal, "data.txt"), "/etc/passwd", "/root", join(hostCwd, "secret.txt"), join(beta, "secret.txt")],
    writes,
    tcpPort,
    dnsPort,
    ...(remount !== undefined ? { remount } : {}),
  };
  try {
    return await talk(child, { op: "attempt", targets });
  } finally {
    child.kill("SIGKILL");
  }
}

describe("an engine under bubblewrap (engineCommand)", { skip }, () => {
  before(async () => {
    s = scratch();
    alpha = join(s.root, "plugins", "alpha");
    beta = join(s.root, "plugins", "beta");
    gammaReal = join(s.root, "plugins", "gamma");
    gammaLink = join(s.root, "gamma-link");
    hostCwd = join(s.root, "host-cwd");
    for (const d of [alpha, beta, gammaReal, hostCwd, join(s.root, "bin")]) mkdirSync(d, { recursive: true });
    writeFileSync(join(alpha, "data.txt"), "alpha's module");
    writeFileSync(join(gammaReal, "data.txt"), "gamma's module");
    writeFileSync(join(beta, "secret.txt"), "beta's data");
    writeFileSync(join(hostCwd, "secret.txt"), "the host's working directory");
    symlinkSync(gammaReal, gammaLink);
    script = join(s.root, "bin", "engine.mjs");
    writeFileSync(script, ENGINE_SCRIPT);

    const tcp = createServer((c) => {
      tcpConnections++;
      c.destroy();
    });
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    tcpPort = (tcp.address() as { port: number }).port;
    closers.push(() => tcp.close());
    const udp = createSocket("udp4");
    udp.on("message", () => dnsQueries++);
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
    dnsPort = udp.address().port;
    closers.push(() => udp.close());

    // The plain control first: it shows every attempt reaches what it aims at.
    const control = spawn(process.execPath, ["--no-node-snapshot", script, IVM_URL], { stdio: [...ENGINE_STDIO], cwd: hostCwd, env: { ...process.env, [SECRET]: "hunter2" } });
    plain = await attempt(control, writeTargets().slice(0, 1));
    rmSync(join(alpha, "new.txt"));
    tcpBefore = tcpConnections;
    dnsBefore = dnsQueries;

    const cmd = engineCommand({
      bwrap: probe.path as string,
      node: process.execPath,
      nodeArgs: ["--no-node-snapshot"],
      script,
      scriptArgs: [IVM_URL],
      readOnly: [alpha, gammaLink, join(s.root, "missing")],
    });
    const engine = spawn(cmd.command, cmd.args, { stdio: [...ENGINE_STDIO], cwd: hostCwd, env: { ...process.env, [SECRET]: "hunter2" } });
    sandboxed = await attempt(engine, writeTargets(), alpha);
  });
  after(() => {
    for (const close of closers) close();
    s?.cleanup();
  });

  it("positive control: talks over IPC, runs warden's isolated-vm, reads the plugin directories it was given (a symlinked one at both names)", () => {
    assert.deepEqual(sandboxed.isolate, { ok: true, value: 42 });
    assert.deepEqual(sandboxed.reads[join(alpha, "data.txt")], { ok: true, value: "alpha's module" });
    assert.deepEqual(sandboxed.reads[join(gammaLink, "data.txt")], { ok: true, value: "gamma's module" });
    assert.deepEqual(sandboxed.reads[join(gammaReal, "data.txt")], { ok: true, value: "gamma's module" });
  });

  it("sees no environment: not the parent's secret, nothing of warden's (only bwrap's PWD)", () => {
    assert.equal(plain.env[SECRET], "hunter2", "control: a plain child inherits it");
    assert.deepEqual(sandboxed.env, { PWD: "/" });
  });

  it("cannot read /etc/passwd, /root, the host's working directory, or a plugin directory it was not given", () => {
    for (const p of ["/etc/passwd", "/root", join(hostCwd, "secret.txt"), join(beta, "secret.txt")]) {
      // (/root is there for a plain child, readable as root and EACCES otherwise; in the sandbox it is not there at all.)
      assert.notDeepEqual(plain.reads[p], { ok: false, code: "ENOENT" }, `control: a plain child finds ${p}`);
      assert.deepEqual(sandboxed.reads[p], { ok: false, code: "ENOENT" }, p);
    }
  });

  it("cannot write anywhere: its bound plugin directory, /tmp, /, /dev/shm", () => {
    assert.equal(plain.writes[join(alpha, "new.txt")]?.ok, true, "control: a plain child writes into the plugin directory");
    assert.deepEqual(Object.keys(sandboxed.writes), writeTargets());
    for (const [p, r] of Object.entries(sandboxed.writes)) assert.equal(r.ok, false, `${p}: ${JSON.stringify(r)}`);
    assert.deepEqual(sandboxed.writes[join(alpha, "new.txt")], { ok: false, code: "EROFS" });
    assert.equal(existsSync(join(alpha, "new.txt")), false);
  });

  it("holds no capability and cannot regain one: CAP_SYS_ADMIN would remount a read-only bind writable", () => {
    assert.equal(sandboxed.capEff, "0000000000000000");
    if (process.getuid?.() === 0) assert.notEqual(plain.capEff, "0000000000000000", "control: as root, a plain child has capabilities");
    assert.equal(sandboxed.remount?.ok, false, JSON.stringify(sandboxed.remount));
    assert.equal(existsSync(join(alpha, "after-remount")), false);
  });

  it("cannot make a user namespace (where it would hold every capability again)", { skip: !existsSync("/usr/bin/unshare") && "no /usr/bin/unshare here" }, () => {
    if (plain.unshare.ok === false) assert.fail(`control: a plain child could not make one either (${plain.unshare.code}), so this proves nothing here`);
    assert.equal(sandboxed.unshare.ok, false);
  });

  it("cannot connect to a listener on the host's loopback", () => {
    assert.deepEqual(plain.tcp, { ok: true, value: true }, "control: a plain child connects");
    assert.equal(tcpBefore, 1);
    assert.deepEqual(sandboxed.tcp, { ok: false, code: "ECONNREFUSED" });
    assert.equal(tcpConnections, tcpBefore, "nothing reached the listener from the sandbox");
  });

  it("cannot resolve names: no hosts file, and a DNS query never leaves its own network namespace", () => {
    assert.equal(plain.lookup.ok, true, "control: a plain child resolves localhost");
    assert.equal(sandboxed.lookup.ok, false);
    assert.equal(dnsBefore >= 1, true, "control: a plain child's query reached the test's DNS socket");
    assert.equal(sandboxed.query.ok, false);
    assert.equal(dnsQueries, dnsBefore, "no query reached the test's DNS socket from the sandbox");
  });

  it("sees only its own pid namespace in /proc", () => {
    assert.ok(
      plain.procs.some((p) => p.pid === process.pid),
      "control: a plain child sees the test runner",
    );
    assert.equal(sandboxed.pid, 2, "pid 1 is bwrap's init");
    assert.deepEqual(sandboxed.procs.map((p) => p.pid).sort(), [1, 2]);
    assert.ok(!sandboxed.procs.some((p) => p.cmd.includes("--test")), JSON.stringify(sandboxed.procs));
  });

  it("dies with its parent: killing the process that spawned bwrap ends bwrap, its init and the engine", async () => {
    const engineUrl = pathToFileURL(join(REPO_ROOT, "dist/core/os-sandbox/engine-sandbox.js")).href;
    const parentScript = join(s.root, "bin", "parent.mjs");
    writeFileSync(
      parentScript,
      `import { spawn } from "node:child_process";
const { engineCommand, ENGINE_STDIO, ENGINE_CHANNEL_FD } = await import(${JSON.stringify(engineUrl)});
const c = engineCommand({ bwrap: ${JSON.stringify(probe.path)}, node: process.execPath, nodeArgs: ["--no-node-snapshot"], script: ${JSON.stringify(script)}, scriptArgs: [${JSON.stringify(IVM_URL)}], readOnly: [] });
const engine = spawn(c.command, c.args, { stdio: [...ENGINE_STDIO] });
engine.stdio[ENGINE_CHANNEL_FD].on("data", () => process.stdout.write("ready\\n"));
engine.stdio[ENGINE_CHANNEL_FD].write(JSON.stringify({ op: "ping" }) + "\\n");
setInterval(() => {}, 1000);
`,
    );
    const parent = spawn(process.execPath, [parentScript], { stdio: ["ignore", "pipe", "inherit"] });
    const pid = parent.pid as number;
    await new Promise<void>((resolve, reject) => {
      parent.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
      parent.once("exit", (code) => reject(new Error(`the parent exited (${code}) before its engine answered`)));
    });
    const tree = descendants(pid);
    const engine = tree.find((p) => commandLine(p).includes(script));
    assert.ok(engine !== undefined && tree.length >= 3, `bwrap, its init and the engine run below the parent: ${tree.map((p) => `${p} ${commandLine(p).slice(0, 60)}`).join("; ")}`);
    parent.kill("SIGKILL");
    assert.equal(await waitFor(() => !tree.some(isRunning)), true, `still running: ${tree.filter(isRunning).join(", ")}`);
  });
});
