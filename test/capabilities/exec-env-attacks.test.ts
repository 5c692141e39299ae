// A hostile plugin steering a granted command through options.env of Warden.exec, through the real
// runtime (its isolate in its sandbox process). Found by an outside attack pass: a key that is not
// a plain variable name ("NODE_OPTIONS=--require") reached the child, since the child's
// environment is built as name=value; and BASH_ENV made a granted bash script source a file of the
// plugin's choosing. Every spelling of both is attacked here next to the variables that must still
// reach the child, and the cap on commands alive at once is driven to its edge and back.
import assert from "node:assert/strict";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MINIMAL_PATH } from "../../capabilities/index.ts";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { escapeText } from "../../errors/index.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { isRunning } from "../helpers/ports.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { FOUND_PAST_NAMES } from "../helpers/env-neighbours.ts";

let s: Scratch;
let hostile: PluginHandle;
let crowd: PluginHandle;
let dir: string;
let crowdDir: string;
const audit = memoryAuditLog();
const logger = createDefaultLogger("silent");

type Attempt = { ok: true; code: number | null; stdout: string; stderr: string } | { ok: false; code: string; name: string; message: string };
type AuditLine = { type: string; op?: string; permission?: string; value?: string; reason?: string; envKey?: string; envKeys?: string[]; decision?: string };

const source = `
async function attempt(cmd, args, env) {
  try { const r = await Warden.exec(cmd, args, { env }); return { ok: true, code: r.code, stdout: r.stdout, stderr: r.stderr }; }
  catch (e) { return { ok: false, code: e.code, name: e.name, message: e.message }; }
}
// The env object is built here from [name, value] pairs (Object.fromEntries makes "__proto__" an own key).
export async function run({ cmd, args, pairs }) { return attempt(cmd, args, Object.fromEntries(pairs)); }
export async function runEach({ cmd, args, pairs }) {
  const out = [];
  for (const [k, v] of pairs) out.push(await attempt(cmd, args, Object.fromEntries([[k, v]])));
  return out;
}
export async function runRaw({ cmd, env }) { return attempt(cmd, [], env); }
`;

const crowdSource = `
let pending = [];
const settle = (p) => p.then((r) => ({ ok: true, stdout: r.stdout }), (e) => ({ ok: false, code: e.code, message: e.message }));
// Start n slow commands at once; answer with the first to settle (the one the cap turned away).
export async function flood({ script, gate, n }) {
  pending = [];
  for (let i = 0; i < n; i++) pending.push(settle(Warden.exec(script, [gate])));
  return Promise.race(pending);
}
export async function drain() { return Promise.all(pending); }
export async function one() { return settle(Warden.exec("echo", ["one more"])); }
// Start n slow commands and never answer: the call runs out of time with them alive.
export async function floodAndHang({ script, gate, n }) {
  for (let i = 0; i < n; i++) settle(Warden.exec(script, [gate]));
  return new Promise(() => {});
}
`;

/** Audit records written since `from` (an index into audit.lines). */
function records(from: number): AuditLine[] {
  return audit.lines.slice(from).map((l) => JSON.parse(l) as AuditLine);
}

// bubblewrap sets PWD (the working directory it entered) for a command under the OS sandbox: the
// command knows its own directory anyway; everything else is exactly what the plugin passed.
const notPwd = (line: string): boolean => !line.startsWith("PWD=");

function parentOf(pid: string): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] ?? null;
  } catch {
    return null;
  }
}

/** Commands alive whose command line contains `marker` (one per command: see below). */
function alive(marker: string): number[] {
  const found = new Set<string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue;
    }
    // Under the OS sandbox each command is bubblewrap (outside and as the namespace's init) around
    // the command itself: the command is what counts.
    if (cmdline.includes(marker) && !(cmdline.split("\0")[0] ?? "").endsWith("bwrap") && isRunning(Number(entry))) found.add(entry);
  }
  // A shell that has just forked (to run `sleep`) shows its command line twice for a moment: the
  // child of a counted process is the same command.
  return [...found].filter((pid) => !found.has(parentOf(pid) ?? "")).map(Number);
}

function refused(a: Attempt, label: string): string {
  assert.equal(a.ok, false, `${label} must be refused, but the command ran: ${JSON.stringify(a)}`);
  assert.ok(!a.ok);
  assert.equal(a.code, "BAD_INPUT", `${label}: ${a.message}`);
  return a.message;
}

describe("exec environment attacks (issue 11, class 1)", () => {
  before(async () => {
    s = scratch();
    dir = join(s.root, "hostile");
    const report = join(dir, "bin/report.sh");
    s.plugin("hostile", manifest("test.exec-env", { permissions: { exec: ["env", process.execPath, report] } }), {
      "index.js": source,
      // What a plugin would point a loader at: written by the test author, since this plugin has no write grant.
      "data/payload.cjs": "console.log('INJECTED by a node loader variable');\n",
      "data/payload.sh": "echo INJECTED by a shell startup variable\n",
      "bin/report.sh": '#!/bin/bash\necho "report for ${GREETING:-nobody}"\n',
    });
    chmodSync(report, 0o755);
    // Every refusal is asserted to be its own record: past 16 distinct denials of one kind in 10 s the
    // host would count the rest in an aggregate (issue 11, class 8), so this test raises that bound.
    hostile = await loadPlugin(dir, { audit, logger, quarantine: { maxFailures: 1000 }, auditLimits: { distinctDenialsPerKind: 100_000 } });

    crowdDir = join(s.root, "crowd");
    const waiter = join(crowdDir, "bin/wait-for-gate.sh");
    s.plugin(
      "crowd",
      manifest("test.exec-crowd", {
        // The gates are files the test creates; under the OS sandbox a command sees only the plugin's grants.
        permissions: { exec: [waiter, "echo"], read: ["gates/"] },
        limits: { timeoutMs: 60_000 },
        entries: { floodAndHang: { timeoutMs: 1500 } },
      }),
      { "index.js": crowdSource, "bin/wait-for-gate.sh": '#!/bin/sh\nwhile [ ! -e "$1" ]; do sleep 0.05; done\necho released\n', "gates/.keep": "" },
    );
    chmodSync(waiter, 0o755);
    crowd = await loadPlugin(crowdDir, { audit, logger, quarantine: { maxFailures: 1000 } });
  });
  after(async () => {
    await hostile.close();
    await crowd.close();
    s.cleanup();
  });

  it("positive control: plain variables reach the child exactly, and the use is audited with their names (sorted), never their values", async () => {
    const from = audit.lines.length;
    const r = (await hostile.invoke("run", {
      cmd: "env",
      args: [],
      pairs: [
        ["GREETING", "hi"],
        ["B_SECRET", "s3cr3t-value"],
        ["A", "1"],
      ],
    })) as Attempt;
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.stdout.trim().split("\n").filter(notPwd).sort(), ["A=1", "B_SECRET=s3cr3t-value", "GREETING=hi", `PATH=${MINIMAL_PATH}`]);
    const use = records(from).find((l) => l.type === "use" && l.permission === "exec");
    assert.deepEqual(use?.envKeys, ["A", "B_SECRET", "GREETING"]);
    assert.ok(!audit.lines.slice(from).some((l) => l.includes("s3cr3t-value")), "a value never reaches the audit log");
  });

  it("a name carrying '=' cannot set NODE_OPTIONS for a node child (the finding); node itself still runs with a plain variable", async () => {
    const payload = join(dir, "data/payload.cjs");
    const from = audit.lines.length;
    for (const [key, value] of [
      ["NODE_OPTIONS=--require", payload],
      [`NODE_OPTIONS=--require=${payload} --require`, payload],
      ["NODE_OPTIONS", `--require=${payload}`],
      ["node_options", `--require=${payload}`],
    ] as const) {
      const a = (await hostile.invoke("run", { cmd: process.execPath, args: ["-e", "console.log(process.env.GREETING)"], pairs: [[key, value]] })) as Attempt;
      const message = refused(a, key);
      assert.ok(message.includes(JSON.stringify(key)), `the message names the key: ${message}`);
    }
    const denials = records(from).filter((l) => l.type === "deny");
    assert.equal(denials.length, 4, "each attempt is a deny record of exec");
    for (const d of denials) {
      assert.equal(d.permission, "exec");
      assert.equal(d.value, process.execPath);
      assert.match(d.reason ?? "", /NODE_OPTIONS|node_options/);
    }
    const control = (await hostile.invoke("run", { cmd: process.execPath, args: ["-e", "console.log(process.env.GREETING)"], pairs: [["GREETING", "hi"]] })) as Attempt;
    assert.ok(control.ok, JSON.stringify(control));
    assert.equal(control.stdout, "hi\n");
  });

  it("BASH_ENV (any case) cannot make a granted bash script source the plugin's file; the script still runs with a plain variable", async () => {
    const report = join(dir, "bin/report.sh");
    const payload = join(dir, "data/payload.sh");
    for (const key of ["BASH_ENV", "bash_env", "Bash_Env", "ENV", "BASH_ENV=" + payload, "BASH_FUNC_echo%%", "BASH_FUNC_echo", "SHELLOPTS", "PS4"]) {
      const message = refused((await hostile.invoke("run", { cmd: report, args: [], pairs: [[key, key === "SHELLOPTS" ? "xtrace" : payload]] })) as Attempt, key);
      assert.ok(message.includes(JSON.stringify(key)), message);
    }
    const control = (await hostile.invoke("run", { cmd: report, args: [], pairs: [["GREETING", "hi"]] })) as Attempt;
    assert.ok(control.ok, JSON.stringify(control));
    assert.equal(control.stdout, "report for hi\n");
  });

  it("every malformed name is refused and audited: '=', NUL, empty, leading digit, whitespace, unicode look-alikes, punctuation", async () => {
    const keys = [
      "NODE_OPTIONS=--require",
      "PATH=/tmp/evil:",
      "LD_PRELOAD=",
      "=LD_PRELOAD",
      "GREETING=hi",
      "A=B=C",
      "LD_PRELOAD\u0000",
      "A\u0000B",
      "\u0000",
      "",
      "1ABC",
      "9",
      "LD_PRELOAD ",
      " LD_PRELOAD",
      "\tPATH",
      "PATH\n",
      "LD PRELOAD",
      "\uff2c\uff24_PRELOAD",
      "LD_PRE\u200bLOAD",
      "\u212aEY",
      "PAT\u0397",
      "NODE_OPTIONS\u202e",
      "LD-PRELOAD",
      "A.B",
      "BASH_FUNC_x%%",
      "BASH_FUNC_x()",
      "$PATH",
      "ß",
    ];
    const from = audit.lines.length;
    const results = (await hostile.invoke("runEach", { cmd: "env", args: [], pairs: keys.map((k) => [k, "/tmp/x"]) })) as Attempt[];
    assert.equal(results.length, keys.length);
    const denials = records(from).filter((l) => l.type === "deny");
    results.forEach((a, i) => {
      const key = keys[i]!;
      const message = refused(a, JSON.stringify(key));
      assert.match(message, /is not a variable name: it must match \^\[A-Za-z_\]\[A-Za-z0-9_\]\*\$/);
      // eslint-disable-next-line no-control-regex -- looking for control characters is the point
      assert.doesNotMatch(message, /[\u0000\u202e\n\t]/, "the key is escaped in the message");
      // The audit log escapes what a plugin wrote, as everywhere.
      assert.ok(
        denials.some((d) => d.envKey === escapeText(key) && d.permission === "exec" && d.value === "env"),
        `a deny record names ${JSON.stringify(key)}`,
      );
    });
  });

  it("every variable that makes a common runtime load code or config is refused, in any case; harmless neighbours still reach the child", async () => {
    const refusedNames = [
      "PATH",
      "path",
      "Path",
      "LD_PRELOAD",
      "ld_preload",
      "Ld_Library_Path",
      "LD_AUDIT",
      "DYLD_INSERT_LIBRARIES",
      "dyld_library_path",
      "NODE_OPTIONS",
      "NODE_PATH",
      "NODE_REPL_EXTERNAL_MODULE",
      "NODE_V8_COVERAGE",
      "npm_config_node_options",
      "npm_config_script_shell",
      "npm_config_userconfig",
      "NPM_CONFIG_USERCONFIG",
      "Npm_Config_Globalconfig",
      "YARN_RC_FILENAME",
      "COREPACK_NPM_REGISTRY",
      "ELECTRON_RUN_AS_NODE",
      "BASHOPTS",
      "BASH_XTRACEFD",
      "PROMPT_COMMAND",
      "IFS",
      "CDPATH",
      "ZDOTDIR",
      "FPATH",
      "SHELL",
      "COMP_LINE",
      "env",
      "PERL5OPT",
      "PERL5LIB",
      "PERLLIB",
      "PERL5DB",
      "PYTHONSTARTUP",
      "PYTHONPATH",
      "PYTHONHOME",
      "PYTHONINSPECT",
      "PYTHONUSERBASE",
      "PYTHONBREAKPOINT",
      "PYTHONWARNINGS",
      "PYTHONPYCACHEPREFIX",
      "pythonpath",
      "PIP_INDEX_URL",
      "RUBYOPT",
      "RUBYLIB",
      "GEM_PATH",
      "GEM_HOME",
      "BUNDLE_GEMFILE",
      "GEMRC",
      "LUA_PATH",
      "LUA_CPATH",
      "LUA_INIT",
      "LUA_INIT_5_4",
      "TCLLIBPATH",
      "PHPRC",
      "R_PROFILE_USER",
      "JAVA_TOOL_OPTIONS",
      "_JAVA_OPTIONS",
      "JDK_JAVA_OPTIONS",
      "JAVA_OPTS",
      "CLASSPATH",
      "MAVEN_OPTS",
      "GRADLE_USER_HOME",
      "GIT_CONFIG",
      "GIT_CONFIG_COUNT",
      "GIT_CONFIG_KEY_0",
      "GIT_CONFIG_VALUE_0",
      "GIT_CONFIG_PARAMETERS",
      "GIT_CONFIG_GLOBAL",
      "git_config_system",
      "GIT_SSH",
      "GIT_SSH_COMMAND",
      "GIT_EXEC_PATH",
      "GIT_ASKPASS",
      "GIT_PAGER",
      "GIT_EDITOR",
      "GIT_SEQUENCE_EDITOR",
      "GIT_PROXY_COMMAND",
      "GIT_EXTERNAL_DIFF",
      "GIT_TEMPLATE_DIR",
      "GIT_DIR",
      "GIT_WORK_TREE",
      "GIT_TRACE",
      "GIT_TRACE2_EVENT",
      "GIT_ALLOW_PROTOCOL",
      "HGRCPATH",
      "SSH_ASKPASS",
      "SSH_ASKPASS_REQUIRE",
      "SUDO_ASKPASS",
      "EDITOR",
      "VISUAL",
      "FCEDIT",
      "SUDO_EDITOR",
      "PAGER",
      "MANPAGER",
      "SYSTEMD_PAGER",
      "LESS",
      "LESSOPEN",
      "LESSCLOSE",
      "MANOPT",
      "BROWSER",
      "TAR_OPTIONS",
      "RSYNC_RSH",
      "SVN_SSH",
      "DBUS_SESSION_BUS_ADDRESS",
      "GTK_MODULES",
      "QT_PLUGIN_PATH",
      "TERMINFO",
      "TERMINFO_DIRS",
      "TERMCAP",
      "GLIBC_TUNABLES",
      "MALLOC_CHECK_",
      "GCONV_PATH",
      "LOCPATH",
      "NLSPATH",
      "HOSTALIASES",
      "RES_OPTIONS",
      "OPENSSL_CONF",
      "OPENSSL_ENGINES",
      "OPENSSL_MODULES",
      "CURL_HOME",
      "WGETRC",
      "GNUPGHOME",
      "AWS_CONFIG_FILE",
      "KUBECONFIG",
      "DOCKER_CONFIG",
      "HOME",
      "home",
      "XDG_CONFIG_HOME",
      "XDG_DATA_DIRS",
      "CC",
      "CXX",
      "LD",
      "CFLAGS",
      "LDFLAGS",
      "MAKEFLAGS",
      "MAKEFILES",
      "CGO_LDFLAGS",
      "CARGO_BUILD_RUSTC_WRAPPER",
      "RUSTC_WRAPPER",
      "RUSTFLAGS",
      "GOFLAGS",
      "GOTOOLCHAIN",
      "GOPROXY",
      "GOSUMDB",
      "DENO_DIR",
      // Found past a list of names by an attack pass: refused by their shape now.
      ...FOUND_PAST_NAMES,
      "compiler_path",
    ];
    const from = audit.lines.length;
    const results = (await hostile.invoke("runEach", { cmd: "env", args: [], pairs: refusedNames.map((k) => [k, "x"]) })) as Attempt[];
    const denials = records(from).filter((l) => l.type === "deny");
    results.forEach((a, i) => {
      const name = refusedNames[i]!;
      const message = refused(a, name);
      assert.match(message, new RegExp(`cannot set "${name}" \\(warden refuses [A-Z0-9_*]+, in any case\\): .+; no grant allows it, so pass the setting to the command as an argument instead`));
      const d = denials.find((r) => r.envKey === name);
      assert.ok(d, `a deny record names ${name}`);
      assert.equal(d.permission, "exec");
      assert.ok(d.reason?.includes(`"${name}"`), d.reason);
    });

    // Positive control: the neighbours a legitimate plugin uses reach the child, each with its value.
    const fine: [string, string][] = [
      ["GREETING", "hi"],
      ["NODE_ENV", "production"],
      ["PYTHONUNBUFFERED", "1"],
      ["PYTHONIOENCODING", "utf-8"],
      ["GIT_AUTHOR_NAME", "Bot"],
      ["GIT_COMMITTER_EMAIL", "bot@example.org"],
      ["GIT_TERMINAL_PROMPT", "0"],
      ["LANG", "C.UTF-8"],
      ["LC_ALL", "C"],
      ["TZ", "UTC"],
      ["COLUMNS", "80"],
      ["NO_COLOR", "1"],
      ["HTTPS_PROXY", "http://127.0.0.1:1"],
      ["_PRIVATE", "p"],
      ["a1", "lower"],
      ["LESSON_PLAN", "l"],
      ["NODEJS_LIKE", "n"],
      ["MY_HOME_TEAM", "t"],
      ["__proto__", "plain"],
      ["constructor", "c"],
      ["toString", "t"],
    ];
    const ok = (await hostile.invoke("run", { cmd: "env", args: [], pairs: fine })) as Attempt;
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.deepEqual(ok.stdout.trim().split("\n").filter(notPwd).sort(), [...fine.map(([k, v]) => `${k}=${v}`), `PATH=${MINIMAL_PATH}`].sort());
  });

  it("two names differing only in case, and a NUL in a value, are refused and audited; the same values under distinct names pass", async () => {
    const from = audit.lines.length;
    const dup = refused(
      (await hostile.invoke("run", {
        cmd: "env",
        args: [],
        pairs: [
          ["GREETING", "a"],
          ["greeting", "b"],
        ],
      })) as Attempt,
      "GREETING/greeting",
    );
    assert.match(dup, /sets both "GREETING" and "greeting", which differ only in case/);
    const nul = refused((await hostile.invoke("run", { cmd: "env", args: [], pairs: [["GREETING", "hi\u0000LD_PRELOAD=/tmp/x.so"]] })) as Attempt, "NUL in a value");
    assert.match(nul, /options\.env\["GREETING"\] contains a NUL character/);
    assert.equal(records(from).filter((l) => l.type === "deny" && l.envKey !== undefined).length, 2);
    const ok = (await hostile.invoke("run", {
      cmd: "env",
      args: [],
      pairs: [
        ["GREETING", "a"],
        ["GREETING_2", "hi LD_PRELOAD=/tmp/x.so"],
      ],
    })) as Attempt;
    assert.ok(ok.ok);
    assert.deepEqual(ok.stdout.trim().split("\n").filter(notPwd).sort(), ["GREETING=a", "GREETING_2=hi LD_PRELOAD=/tmp/x.so", `PATH=${MINIMAL_PATH}`]);
  });

  it("a malformed options.env (not an object of strings) is BAD_INPUT, like any argument, and not a denial", async () => {
    const from = audit.lines.length;
    for (const env of ["LD_PRELOAD=/tmp/x.so", ["LD_PRELOAD=/tmp/x.so"], { GREETING: 1 }, { GREETING: { toString: "x" } }, { GREETING: null }]) {
      refused((await hostile.invoke("runRaw", { cmd: "env", env })) as Attempt, JSON.stringify(env));
    }
    assert.equal(records(from).filter((l) => l.type === "deny").length, 0);
  });

  it("at most 8 commands are alive at once: the 9th is Busy at once, naming the cap; after they end a new one runs", async () => {
    const script = join(crowdDir, "bin/wait-for-gate.sh");
    const gate = join(crowdDir, "gates/gate-1");
    const first = (await crowd.invoke("flood", { script, gate, n: 9 })) as { ok: boolean; code?: string; message?: string };
    assert.equal(first.ok, false, "one of the nine is turned away while eight wait");
    assert.equal(first.code, "Busy");
    assert.match(first.message ?? "", /already has 8 commands running/);
    // Under the OS sandbox a command starts a moment after bubblewrap does: wait for the eighth.
    for (let i = 0; i < 150 && alive(gate).length < 8; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alive(gate).length, 8, "eight commands are alive, not nine");
    const more = (await crowd.invoke("one")) as { ok: boolean; code?: string };
    assert.equal(more.code, "Busy", "any other command is Busy while eight are alive");
    writeFileSync(gate, "");
    const all = (await crowd.invoke("drain")) as Array<{ ok: boolean; stdout?: string; code?: string }>;
    assert.equal(all.filter((r) => r.ok && r.stdout === "released\n").length, 8);
    assert.equal(all.filter((r) => !r.ok && r.code === "Busy").length, 1);
    assert.deepEqual(await crowd.invoke("one"), { ok: true, stdout: "one more\n" }, "positive control: with the eight gone, a command runs");
  });

  it("commands a call left running when it timed out count until they have exited, then their places are free again", async () => {
    const script = join(crowdDir, "bin/wait-for-gate.sh");
    const gate = join(crowdDir, "gates/gate-never");
    await assert.rejects(crowd.invoke("floodAndHang", { script, gate, n: 8 }), { code: "TIMEOUT" });
    let answer: { ok: boolean; code?: string; stdout?: string } = { ok: false };
    for (let i = 0; i < 200 && !answer.ok; i++) {
      answer = (await crowd.invoke("one")) as typeof answer;
      if (!answer.ok) {
        assert.equal(answer.code, "Busy", JSON.stringify(answer));
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.deepEqual(answer, { ok: true, stdout: "one more\n" }, "the places of the killed commands are free again");
    assert.deepEqual(alive(gate), [], "a place is free only once its command has exited");
  });
});
