// Every attempt below is a real bypass of some sandbox (see the bypass IDs in docs/security.md).
// warden must refuse each one; the controls at the end must keep working, so a warden that
// simply denied everything would fail this plugin too.
const service = () => Warden.config.service;

const attacks = {
  // filesystem
  "fs: ../ traversal": () => Warden.fs.readTextFile("../notes/data/welcome.txt"),
  "fs: absolute path": () => Warden.fs.readTextFile("/etc/passwd"),
  "fs: symlink inside the grant pointing out": () => Warden.fs.readTextFile("data/escape/welcome.txt"),
  "fs: /proc/self/environ": () => Warden.fs.readTextFile("/proc/self/environ"),
  "fs: write outside": () => Warden.fs.writeTextFile("../notes/data/pwned.txt", "x"),
  "fs: write through a symlink": () => Warden.fs.writeTextFile("data/escape/pwned.txt", "x"),
  "fs: remove outside": () => Warden.fs.remove("../notes/data/welcome.txt"),
  "fs: list /": () => Warden.fs.readDir("/"),
  // network
  "net: decimal IPv4 (127.0.0.2)": () => fetch("http://2130706434/"),
  "net: IPv4-mapped IPv6": () => fetch("http://[::ffff:127.0.0.2]/"),
  "net: IPv6 loopback": () => fetch("http://[::1]/"),
  "net: localhost by name": () => fetch(`http://localhost:${new URL(service()).port}/`),
  "net: cloud metadata": () => fetch("http://169.254.169.254/latest/meta-data/"),
  "net: ungranted public host": () => fetch("https://example.com/"),
  "net: redirect to metadata": () => fetch(`${service()}/redirect?to=${encodeURIComponent("http://169.254.169.254/latest/meta-data/")}`),
  "net: file: URL": () => fetch("file:///etc/passwd"),
  // exec
  "exec: a shell": () => Warden.exec("sh", ["-c", "id"]),
  "exec: absolute path of another binary": () => Warden.exec("/bin/sh", ["-c", "id"]),
  "exec: LD_PRELOAD": () => Warden.exec("echo", ["x"], { env: { LD_PRELOAD: "/tmp/evil.so" } }),
  "exec: PATH trick": () => Warden.exec("echo", ["x"], { env: { PATH: "/tmp/evil-bin" } }),
  "exec: cwd outside the read grant": () => Warden.exec("echo", ["x"], { cwd: "/etc" }),
  // env
  "env: HOME": () => Warden.env.get("HOME"),
  "env: enumerate with *": () => Warden.env.get("*"),
  // channels
  "channels: publish outside the grant": () => Warden.channels.publish("chat.reply", { text: "spoofed reply" }),
  "channels: subscribe to everything": () => Warden.channels.subscribe("**", () => {}),
};

async function attempt(fn) {
  try {
    await fn();
    return "BYPASSED (this is a bug in warden)";
  } catch (e) {
    if (e && (e.code === "PERMISSION_DENIED" || e.code === "BAD_INPUT")) return `denied: ${e.code}`;
    return `failed differently: ${e && e.code} ${e && e.message}`;
  }
}

function escapes() {
  const probe = Warden.fs.readTextFile.constructor("return [typeof process, typeof require, typeof WebAssembly].join()")();
  return {
    "escape: Function constructor of a Warden function": probe === "undefined,undefined,undefined" ? "denied: no host object" : `BYPASSED: ${probe}`,
    "exec: shell metacharacters in args": null,
  };
}

export async function all() {
  const outcome = {};
  for (const [name, fn] of Object.entries(attacks)) outcome[name] = await attempt(fn);
  Object.assign(outcome, escapes());
  const meta = await Warden.exec("echo", ["$(cat /etc/passwd)", ";", "id"]);
  outcome["exec: shell metacharacters in args"] = meta.stdout === "$(cat /etc/passwd) ; id\n" ? "denied: passed as plain text" : `BYPASSED: ${meta.stdout}`;
  try {
    // @ts-expect-error -- there is no node:fs inside a plugin; this is the attack
    await import("node:fs");
    outcome["escape: import(\"node:fs\")"] = "BYPASSED";
  } catch {
    outcome["escape: import(\"node:fs\")"] = "denied: import() is not offered";
  }

  // Positive controls: the same capabilities, used within the grants.
  const controls = {
    read: (await Warden.fs.readTextFile("data/own.txt")).trim(),
    fetch: (await (await fetch(`${service()}/forecast?city=Bergen`)).json()).city,
    exec: (await Warden.exec("echo", ["hi"])).stdout.trim(),
    env: (await Warden.env.get("WARDEN_DEMO_LANG")) ?? "(unset, but readable)",
    publish: (await Warden.channels.publish("burglar.out", { ok: true })).delivered >= 0,
  };
  const values = Object.values(outcome);
  return { allDenied: values.every((v) => v.startsWith("denied")), attempts: values.length, outcome, controls };
}
