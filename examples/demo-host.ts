// The demo host behind `npm start`: loads the example plugins (one per capability, plus two
// hostile ones), calls their entries, sends chat messages through the channel bus, prints results
// and denials, writes an audit log and prints its verified summary.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createChannelBus, isWardenError, loadPlugin, openAuditLog, verifyAuditText, type ChannelMessage, type PluginHandle } from "../core/index.ts";
import { cliLogger } from "../core/cli/output.ts";

const root = fileURLToPath(new URL("../../examples/plugins/", import.meta.url));
const auditFile = fileURLToPath(new URL("../../.warden/demo-audit.jsonl", import.meta.url));
mkdirSync(fileURLToPath(new URL("../../.warden/", import.meta.url)), { recursive: true });
rmSync(auditFile, { force: true });
process.env["WARDEN_DEMO_LANG"] ??= "en-GB";

// A stand-in for a real weather API, on loopback (the weather and burglar plugins are granted
// 127.0.0.1 explicitly). /redirect lets the burglar try to bounce a request to another host.
const service = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://service");
  if (url.pathname === "/redirect") {
    res.writeHead(302, { location: url.searchParams.get("to") ?? "/" }).end();
    return;
  }
  const city = url.searchParams.get("city") ?? "Oslo";
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ city, tomorrow: city.length % 2 === 0 ? "rain" : "sun", celsius: 8 + (city.length % 7) }));
});
await new Promise<void>((r) => service.listen(0, "127.0.0.1", r));
const serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;

const audit = openAuditLog(auditFile);
const logger = cliLogger(false);
const bus = createChannelBus();
const config: Record<string, unknown> = { weather: { service: serviceUrl }, burglar: { service: serviceUrl } };
const hostile = new Set(["snoop", "burglar"]);
const calls: Array<[plugin: string, entry: string, input?: unknown]> = [
  ["hello", "greet", { name: "warden" }],
  ["notes", "read", { name: "welcome.txt" }],
  ["notes", "canRead", { path: "/etc/passwd" }],
  ["journal", "add", { day: "monday", text: "wrote a plugin" }],
  ["journal", "add", { day: "monday", text: "it could only touch its own data/" }],
  ["journal", "clear"],
  ["weather", "forecast", { city: "Bergen" }],
  ["sysinfo", "info"],
  ["settings", "show"],
  ["snoop", "passwd"],
  ["snoop", "symlink"],
  ["burglar", "all"],
];

const out = (s: string) => process.stdout.write(`${s}\n`);
const show = (v: unknown) => JSON.stringify(v, null, 2).replace(/\n/g, "\n    ");
let failures = 0;
const loaded = new Map<string, PluginHandle>();

async function plugin(name: string): Promise<PluginHandle> {
  let p = loaded.get(name);
  if (!p) {
    const t0 = performance.now();
    p = await loadPlugin(`${root}${name}`, { audit, logger, bus, config: config[name] });
    loaded.set(name, p);
    out(`loaded ${p.id} (${(performance.now() - t0).toFixed(0)} ms): entries ${p.entries.join(", ") || "(none: it works through channels)"}`);
  }
  return p;
}

out("warden demo: example plugins, each in its own isolate, each limited to what its plugin.json grants\n");
try {
  for (const [name, entry, input] of calls) {
    const p = await plugin(name);
    const t0 = performance.now();
    try {
      const value = await p.invoke(entry, input);
      if (name === "burglar") {
        const r = value as { allDenied: boolean; attempts: number; outcome: Record<string, string>; controls: unknown };
        out(`  ${r.allDenied ? "✔" : "✘"} ${p.id}.all(): ${r.attempts} attacks, ${r.allDenied ? "every one denied" : "SOME GOT THROUGH"}`);
        for (const [attack, result] of Object.entries(r.outcome)) out(`      ${result.startsWith("denied") ? "✔" : "✘"} ${attack.padEnd(52)} ${result}`);
        out(`    and the granted uses still work: ${JSON.stringify(r.controls)}`);
        if (!r.allDenied) failures++;
        continue;
      }
      out(`  ✔ ${p.id}.${entry}(${input === undefined ? "" : JSON.stringify(input)}) → ${show(value)}  [${(performance.now() - t0).toFixed(1)} ms]`);
    } catch (e) {
      if (!isWardenError(e)) throw e;
      const expected = hostile.has(name) && e.code === "PERMISSION_DENIED";
      if (!expected) failures++;
      out(`  ${expected ? "✔" : "✘"} ${p.id}.${entry}() → ${e.code}: ${e.message}${expected ? "  (denied, as it should be)" : ""}`);
    }
  }

  // A chat message enters the plugins through the bus; the echo bot's reply comes back on it.
  await plugin("echo-bot");
  const replies: ChannelMessage[] = [];
  const sub = bus.subscribe("chat.reply", (m) => void replies.push(m));
  for (const text of ["hello plugins", "what can you do?"]) {
    out(`  → host publishes chat.message ${JSON.stringify({ text })}`);
    bus.publish("chat.message", { text });
  }
  for (let i = 0; i < 100 && replies.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  for (const m of replies) out(`  ← ${m.topic} from ${m.from}: ${JSON.stringify(m.data)}`);
  if (replies.length < 2) {
    failures++;
    out("  ✘ the echo bot did not answer both messages");
  }
  sub.unsubscribe();
} finally {
  await Promise.all([...loaded.values()].map((p) => p.close()));
  audit.close();
  service.close();
}

const verdict = verifyAuditText(readFileSync(auditFile, "utf8"));
out(`\naudit log ${auditFile}`);
if (!verdict.ok) {
  out(`  TAMPERED at line ${verdict.line}: ${verdict.reason}`);
  process.exitCode = 3;
} else {
  out(`  intact: ${verdict.records} records, head ${verdict.head}`);
  for (const [id, s] of Object.entries(verdict.summary)) out(`  ${id.padEnd(18)} grants ${s.grants}  uses ${s.uses}  denials ${s.denials}`);
  out(`\nverify it yourself: npx warden audit ${auditFile}`);
}
if (failures > 0) {
  out(`\n${failures} unexpected result(s)`);
  process.exitCode = 1;
}
