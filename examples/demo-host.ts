// The demo behind `npm start`: a small chat-bot host built with createHost over examples/plugins.
// It loads every plugin in dependency order, calls one plugin per capability, lets the hostile
// ones try their attacks, feeds chat messages through the channel bus, hot-reloads the echo bot
// with a new version on disk while messages keep coming, and ends with the status of every plugin
// and the verified audit log. It runs as an operator would: approvals required, every example
// approved first (as `warden grants approve` would), and an update that asks for a new host waits,
// while the approved version keeps answering, until the operator approves it.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { approveGrants, createHost, escapeText, grantsDiff, isWardenError, listGrants, verifyAuditText, type ChannelMessage, type HostEvent } from "../core/index.ts";
import { cliLogger } from "../core/cli/output.ts";
import { readUsageEvidence } from "../core/cli/usage-evidence.ts";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const work = join(repo, ".warden");
const pluginsDir = join(work, "demo-plugins");
const auditFile = join(work, "demo-audit.jsonl");
// Plugin results, chat messages and error texts are printed: each line escaped, so none of them can
// drive the terminal or pass for a line of the demo's own.
const out = (s = "") => process.stdout.write(`${s.split("\n").map(escapeText).join("\n")}\n`);
const section = (title: string) => out(`\n── ${title} ${"─".repeat(Math.max(0, 70 - title.length))}`);

// The demo works on a copy, so reloading a changed plugin never touches the repository.
mkdirSync(work, { recursive: true });
rmSync(pluginsDir, { recursive: true, force: true });
rmSync(auditFile, { force: true });
cpSync(join(repo, "examples/plugins"), pluginsDir, { recursive: true, verbatimSymlinks: true });
process.env["WARDEN_DEMO_LANG"] ??= "en-GB";

// A stand-in weather API on loopback (the weather and burglar plugins are granted 127.0.0.1).
const service = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://service");
  if (url.pathname === "/redirect") return void res.writeHead(302, { location: url.searchParams.get("to") ?? "/" }).end();
  const city = url.searchParams.get("city") ?? "Oslo";
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ city, tomorrow: city.length % 2 === 0 ? "rain" : "sun", celsius: 8 + (city.length % 7) }));
});
await new Promise<void>((r) => service.listen(0, "127.0.0.1", r));
const serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;

section("consent: the operator approves what each example asks for (warden grants approve <id>)");
for (const p of (await listGrants(pluginsDir)).plugins) {
  await approveGrants({ pluginsDir, id: p.id });
  const asks = Object.keys(p.requested);
  out(`  approved ${p.id.padEnd(20)} ${p.version}  ${asks.length > 0 ? asks.join(", ") : "(no permissions)"}`);
}

const host = await createHost({
  pluginsDir,
  approvals: "required",
  auditLog: auditFile,
  logger: cliLogger(false),
  config: { "example.weather": { service: serviceUrl }, "example.burglar": { service: serviceUrl } },
  healthIntervalMs: 0,
});
const lifecycle = new Set(["load", "load-failed", "reload", "reload-failed", "pending", "quarantine", "release", "unload"]);
host.on("event", (e: HostEvent) => {
  if (!lifecycle.has(e.type) || (e.type === "unload" && e.reason === "the host closed")) return;
  const what =
    e.type === "load"
      ? `${e.version} (${e.ms.toFixed(0)} ms)`
      : e.type === "reload"
        ? `${e.from} → ${e.to}`
        : e.type === "pending"
          ? `${e.version}: waits for approval`
          : "reason" in e
            ? e.reason
            : "";
  out(`  [event] ${e.type.padEnd(6)} ${e.plugin} ${what}`);
});

let unexpected = 0;
async function call(id: string, entry: string, input?: unknown, hostile = false): Promise<unknown> {
  const t0 = performance.now();
  try {
    const value = await host.invoke(id, entry, input);
    const text = JSON.stringify(value);
    out(`  ✔ ${id}.${entry}(${input === undefined ? "" : JSON.stringify(input)}) → ${text.length > 160 ? `${text.slice(0, 160)}…` : text}  [${(performance.now() - t0).toFixed(1)} ms]`);
    return value;
  } catch (e) {
    if (!isWardenError(e)) throw e;
    const expected = hostile && e.code === "PERMISSION_DENIED";
    if (!expected) unexpected++;
    out(`  ${expected ? "✔" : "✘"} ${id}.${entry}() → ${e.code}: ${e.message}${expected ? "  (denied, as it should be)" : ""}`);
    return undefined;
  }
}

try {
  section("loading examples/plugins (dependencies first, each in its own isolate, in supervised engine processes)");
  await host.loadAll();

  section("one plugin per capability");
  await call("example.hello", "greet", { name: "warden" });
  await call("example.notes", "read", { name: "welcome.txt" });
  await call("example.journal", "add", { day: "monday", text: "wrote a plugin" });
  await call("example.journal", "clear");
  await call("example.weather", "forecast", { city: "Bergen" });
  await call("example.sysinfo", "info");
  await call("example.settings", "show");
  await call("example.wordcount", "count", { file: "warden.txt", top: 3 }); // written in TypeScript

  section("hostile plugins");
  await call("example.snoop", "passwd", undefined, true);
  await call("example.snoop", "symlink", undefined, true);
  const burglar = (await call("example.burglar", "all")) as { allDenied: boolean; attempts: number; outcome: Record<string, string> } | undefined;
  if (burglar) {
    for (const [attack, result] of Object.entries(burglar.outcome)) out(`      ${result.startsWith("denied") ? "✔" : "✘"} ${attack.padEnd(52)} ${result}`);
    if (!burglar.allDenied) unexpected++;
  }

  section("chat: messages enter through the channel bus, the echo bot answers");
  const replies: ChannelMessage[] = [];
  host.bus.subscribe("chat.reply", (m) => {
    replies.push(m);
    out(`  ← ${m.from}: ${(m.data as { text: string }).text}`);
  });
  const say = async (text: string) => {
    out(`  → host: ${text}`);
    host.bus.publish("chat.message", { text });
    const want = replies.length + 1;
    for (let i = 0; i < 100 && replies.length < want; i++) await new Promise((r) => setTimeout(r, 10));
  };
  await say("hello plugins");
  await say("what can you do?");

  section("hot reload: a new echo-bot version on disk, switched while messages keep coming");
  const botDir = join(pluginsDir, "echo-bot");
  const manifest = JSON.parse(readFileSync(join(botDir, "plugin.json"), "utf8")) as { version: string };
  writeFileSync(join(botDir, "plugin.json"), JSON.stringify({ ...manifest, version: "1.1.0" }, null, 2));
  writeFileSync(join(botDir, "index.js"), readFileSync(join(botDir, "index.js"), "utf8").replace("you said", "now in upper case:").replace("${text}", "${text.toUpperCase()}"));
  let reloaded = false;
  const chatter = (async () => {
    // Keep talking until a few messages after the switch: every one of them gets an answer.
    for (let i = 1, after = 0; after < 3; i++) {
      await say(`message ${i}`);
      if (reloaded) after++;
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  await host.reload("example.echo-bot");
  reloaded = true;
  await chatter;

  section("consent: an update that asks for more waits for the operator");
  const weatherDir = join(pluginsDir, "weather");
  const weather = JSON.parse(readFileSync(join(weatherDir, "plugin.json"), "utf8")) as { version: string; permissions: { net: string[] } };
  writeFileSync(join(weatherDir, "plugin.json"), JSON.stringify({ ...weather, version: "1.1.0", permissions: { net: [...weather.permissions.net, "api.weather.example"] } }, null, 2));
  await host.reload("example.weather").then(
    () => out("  ✘ the update was loaded without approval"),
    (e: unknown) => out(`  ✔ reload refused: ${isWardenError(e) ? e.code : String(e)}`),
  );
  const pending = host.status().find((p) => p.id === "example.weather");
  out(`  example.weather runs ${pending?.version}, update ${pending?.pendingUpdate?.version ?? "?"} pending`);
  if (pending?.version !== "1.0.0" || pending.pendingUpdate === null) unexpected++;
  await call("example.weather", "forecast", { city: "Oslo" });
  const diff = await grantsDiff(pluginsDir, "example.weather");
  out("  warden grants diff example.weather:");
  for (const line of diff.grew) out(`    + ${line}`);
  out("  the operator approves it (warden grants approve example.weather):");
  await host.approve("example.weather");
  await call("example.weather", "forecast", { city: "Oslo" });
  const approved = host.status().find((p) => p.id === "example.weather");
  out(`  example.weather now runs ${approved?.version}, approved by ${approved?.approval?.by} (plugin.json ${approved?.approval?.manifestSha256?.slice(0, 12)}…)`);
  if (approved?.version !== "1.1.0") unexpected++;

  section("status");
  out(`  ${"plugin".padEnd(20)}${"version".padEnd(9)}${"state".padEnd(8)}${"calls".padStart(6)}${"denials".padStart(9)}${"limits".padStart(8)}`);
  for (const p of host.status()) {
    out(
      `  ${p.id.padEnd(20)}${(p.version ?? "-").padEnd(9)}${p.state.padEnd(8)}${String(p.counters.calls).padStart(6)}${String(p.counters.denials).padStart(9)}${String(p.counters.limitHits).padStart(8)}${p.reason ? `  ${p.reason}` : ""}`,
    );
  }
} finally {
  await host.close();
  service.close();
}

section("audit log");
const verdict = verifyAuditText(readFileSync(auditFile, "utf8"));
if (!verdict.ok) {
  out(`  TAMPERED at line ${verdict.line}: ${verdict.reason}`);
  process.exitCode = 3;
} else {
  out(`  ${auditFile}: intact, ${verdict.records} records, head ${verdict.head}`);
  for (const [id, s] of Object.entries(verdict.summary)) out(`  ${id.padEnd(20)} grants ${s.grants}  uses ${s.uses}  denials ${s.denials}`);
  out(`\n  verify it yourself: npx warden audit ${auditFile}`);

  section("usage evidence: grants that were never used (warden grants usage)");
  const evidence = readUsageEvidence(auditFile, null);
  if (evidence.ok) {
    const installed = new Map((await listGrants(pluginsDir)).plugins.map((p) => [p.id, { permissions: p.requested, version: p.version }]));
    for (const p of evidence.tally.report(installed).plugins) {
      if (p.neverUsed.length === 0) continue;
      out(`  ${p.id.padEnd(20)} never used: ${p.neverUsed.join(", ")}; would have sufficed: ${JSON.stringify(p.sufficient)}`);
    }
    out(`\n  the full report: npx warden grants usage --plugins-dir ${pluginsDir} --audit-log ${auditFile}`);
  }
}
if (unexpected > 0) {
  out(`\n${unexpected} unexpected result(s)`);
  process.exitCode = 1;
}
