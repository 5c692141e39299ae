// The demo host behind `npm start`: loads the example plugins, calls an entry of each, prints
// results and denials, writes an audit log and prints its verified summary.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isWardenError, loadPlugin, openAuditLog, verifyAuditText } from "../core/index.ts";
import { cliLogger } from "../core/cli/output.ts";

const root = fileURLToPath(new URL("../../examples/plugins/", import.meta.url));
const auditFile = fileURLToPath(new URL("../../.warden/demo-audit.jsonl", import.meta.url));
mkdirSync(fileURLToPath(new URL("../../.warden/", import.meta.url)), { recursive: true });
rmSync(auditFile, { force: true });

const audit = openAuditLog(auditFile);
const logger = cliLogger(false);
const calls: Array<[plugin: string, entry: string, input?: unknown]> = [
  ["hello", "greet", { name: "warden" }],
  ["hello", "later", { path: "/docs?x=1" }],
  ["notes", "read", { name: "welcome.txt" }],
  ["notes", "canRead", { path: "/etc/passwd" }],
  ["snoop", "passwd"],
  ["snoop", "neighbour"],
  ["snoop", "symlink"],
  ["snoop", "all"],
];

const out = (s: string) => process.stdout.write(`${s}\n`);
out(`warden demo: ${calls.length} calls into 3 plugins, each in its own isolate\n`);
let failures = 0;
const loaded = new Map<string, Awaited<ReturnType<typeof loadPlugin>>>();
try {
  for (const [name, entry, input] of calls) {
    let plugin = loaded.get(name);
    if (!plugin) {
      const t0 = performance.now();
      plugin = await loadPlugin(`${root}${name}`, { audit, logger });
      loaded.set(name, plugin);
      out(`loaded ${plugin.id} (${(performance.now() - t0).toFixed(0)} ms): entries ${plugin.entries.join(", ")}`);
    }
    const t0 = performance.now();
    try {
      const value = await plugin.invoke(entry, input);
      out(`  ✔ ${plugin.id}.${entry}(${input === undefined ? "" : JSON.stringify(input)}) → ${JSON.stringify(value, null, 2).replace(/\n/g, "\n    ")}  [${(performance.now() - t0).toFixed(1)} ms]`);
    } catch (e) {
      if (!isWardenError(e)) throw e;
      const expected = name === "snoop" && e.code === "PERMISSION_DENIED";
      if (!expected) failures++;
      out(`  ✘ ${plugin.id}.${entry}() → ${e.code}: ${e.message}${expected ? "  (denied, as it should be)" : ""}`);
    }
  }
} finally {
  await Promise.all([...loaded.values()].map((p) => p.close()));
  audit.close();
}

const verdict = verifyAuditText(readFileSync(auditFile, "utf8"));
out(`\naudit log ${auditFile}`);
if (!verdict.ok) {
  out(`  TAMPERED at line ${verdict.line}: ${verdict.reason}`);
  process.exitCode = 3;
} else {
  out(`  intact: ${verdict.records} records, head ${verdict.head}`);
  for (const [id, s] of Object.entries(verdict.summary)) out(`  ${id.padEnd(16)} grants ${s.grants}  uses ${s.uses}  denials ${s.denials}`);
  out(`\nverify it yourself: npx warden audit ${auditFile}`);
}
if (failures > 0) process.exitCode = 1;
