// Usage evidence as text: the block `warden grants usage` prints per plugin, and the effective-grants
// table of `warden check --audit-log` with its usage columns. Every cell may hold plugin text (a
// rule, a denied value, an id from the log): each is escaped here, where the text is made.
import type { PluginUsage, RuleUsage } from "../audit/grant-usage.ts";
import { escapeText, safeJson } from "../../errors/index.ts";
import type { GrantRow } from "../../manifests/index.ts";

/** Aligned columns, every cell escaped; the last column is not padded. */
function table(head: readonly string[], rows: readonly (readonly string[])[], indent = ""): string {
  const all = [head, ...rows.map((r) => r.map(escapeText))];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) => `${indent}${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")}`.trimEnd()).join("\n") + "\n";
}

const when = (t: string | null): string => t ?? "never";

function deniedValue(d: PluginUsage["denied"][number]): string {
  if (d.value !== null) return d.value;
  return d.samples.length > 0 ? `(values counted, not written; e.g. ${d.samples.join(", ")})` : "(values counted, not written)";
}

// A rule the records name that the plugin's rules lack: the manifest changed since (or, with no
// grant record for a plugin not installed, nothing is known but the records).
const NOT_IN: Record<string, string> = { manifest: "not in plugin.json now", "audit-log": "not in its last grant record", none: "" };

function note(u: PluginUsage, r: RuleUsage): string {
  if (!r.inManifest) return NOT_IN[u.rulesFrom ?? "none"] ?? "";
  return r.uses === 0 ? "NEVER USED" : "";
}

function header(u: PluginUsage): string {
  const version = u.version === null ? "" : ` ${u.version}`;
  if (u.installed) return `${u.id}${version}`;
  const from = u.rulesFrom === "audit-log" ? "rules from the log's last grant record" : "no grant record in the log: rules as its records name them";
  return `${u.id}${version} (NOT INSTALLED: ${from})`;
}

/** The permissions that would have sufficed, as indented JSON (or why there are none to show). */
function sufficient(u: PluginUsage, indent: string): string {
  if (u.sufficient === null) return `${indent}would have sufficed: unknown (the plugin's permissions are not known)\n`;
  return `${indent}would have sufficed:\n${safeJson(u.sufficient, 2)
    .split("\n")
    .map((l) => `${indent}  ${l}`)
    .join("\n")}\n`;
}

/** One plugin's block of `warden grants usage`: its rules with uses, last use and denials, then the smaller permissions. */
export function formatPluginUsage(u: PluginUsage): string {
  const rows = [
    ...u.rules.map((r) => [r.source, r.rule, String(r.uses), when(r.lastUsed), "-", note(u, r)]),
    ...u.denied.map((d) => [`denied ${d.permission}`, deniedValue(d), "-", d.lastDenied, String(d.count), "no rule covers it"]),
  ];
  let out = `${escapeText(header(u))}\n`;
  out += rows.length === 0 ? "  no grants and no records\n" : table(["WHERE", "RULE", "USES", "LAST USED", "DENIALS", ""], rows, "  ");
  const never = u.neverUsed.length > 0 ? `; never used: ${u.neverUsed.join(", ")}` : "";
  const other = u.unattributed > 0 ? `; ${u.unattributed} record(s) past the audit budget of unknown kind` : "";
  out += `  ${escapeText(`${u.uses} use(s), ${u.denials} denial(s)${never}${other}`)}\n`;
  return out + sufficient(u, "  ");
}

/** The effective-grants table of `warden check` with each rule's uses, last use and denials, then the requests no rule covered. */
export function formatGrantUsageTable(rows: readonly GrantRow[], u: PluginUsage): string {
  const bySource = new Map(u.rules.filter((r) => r.inManifest).map((r) => [r.source, r]));
  const body = [
    ...rows.map((g) => {
      const r = bySource.get(g.source);
      return [g.kind, g.rule, g.source, String(r?.uses ?? 0), when(r?.lastUsed ?? null), "-", (r?.uses ?? 0) === 0 ? `${g.covers} (NEVER USED)` : g.covers];
    }),
    ...u.rules.filter((r) => !r.inManifest).map((r) => [r.permission, r.rule, r.source, String(r.uses), when(r.lastUsed), "-", "not in plugin.json now (the log is older)"]),
    ...u.denied.map((d) => [d.permission, deniedValue(d), "(denied)", "-", d.lastDenied, String(d.count), "no rule covers it"]),
  ];
  let out = body.length === 0 ? "grants: none (the plugin can only compute and log)\n" : table(["KIND", "RULE", "WHERE", "USES", "LAST USED", "DENIALS", "COVERS"], body);
  if (u.neverUsed.length > 0) out += `never used: ${escapeText(u.neverUsed.join(", "))}\n`;
  return out + sufficient(u, "");
}
