// The effective grants of a plugin, one row per rule, in words a reviewer can check: what each
// rule covers once relative paths, wildcards, ports and PATH lookups are resolved.
import { escapeText } from "../errors/index.ts";
import { isAbsolute, resolve } from "node:path";
import { inside, spansNamespaces } from "./lint-manifest.ts";
import { netMeaning } from "./net-meaning.ts";
import type { Manifest } from "./schema.ts";

/** One granted rule and what it covers. */
export type GrantRow = { readonly kind: string; readonly rule: string; readonly source: string; readonly covers: string };

function pathCovers(rule: string, dir: string): string {
  const abs = resolve(dir, rule);
  return `${abs}${inside(abs, dir) ? " (inside the plugin)" : ""} and everything below it`;
}

function netCovers(rule: string): string {
  // Described as the bridge reads it, with the spelling beside it when the two differ.
  const m = netMeaning(rule);
  const written = m.rule === rule ? "" : ` (written ${rule})`;
  if (m.kind === "cidr") return `every address in ${m.rule}${m.range === null ? "" : ` (a ${m.range} range)`}${written}`;
  const where = m.port === null ? "on any port" : `on port ${m.port}`;
  if (m.kind === "address") return `the address ${m.address ?? ""} ${where}${m.range === null ? "" : ` (a ${m.range} address)`}${written}`;
  const host = m.port === null ? m.rule : m.rule.slice(0, m.rule.lastIndexOf(":"));
  if (m.kind === "wildcard") return `${host.slice(2)} and all its subdomains, ${where}${written}`;
  return `${host} ${where}${host === "localhost" ? " (including the loopback addresses it resolves to)" : ""}${written}`;
}

// A grant made only of wildcards is named for what it is ("every topic"), and one that starts with
// a wildcard says it reaches into every namespace: "topics matching **" read as narrow to an
// operator approving it.
/** What a channel grant covers, in words ("every topic", "topics under chat."). */
export function topicCovers(rule: string): string {
  const segs = rule.split(".");
  const n = segs.length;
  if (rule === "**") return "every topic";
  if (segs.every((s) => s === "*" || s === "**")) return segs[n - 1] === "**" ? `every topic of ${n} or more segments` : `every topic of ${n} segment${n === 1 ? "" : "s"}`;
  if (!spansNamespaces(rule) && rule.endsWith(".**") && !segs.includes("*")) return `topics under ${rule.slice(0, -3)}.`;
  if (!rule.includes("*")) return `the topic ${rule}`;
  const how = rule.endsWith(".**") ? "* is one segment, a final ** one or more" : "* is one segment";
  return `topics matching ${rule}${spansNamespaces(rule) ? " in every namespace" : ""} (${how})`;
}

/** What an env grant covers, in words. */
export function envCovers(rule: string): string {
  return rule.endsWith("*") ? `variables whose names start with ${rule.slice(0, -1)}` : `the variable ${rule}`;
}

/**
 * Describe every grant of `m` for a plugin in `dir`. `commands` maps exec grants to what they
 * resolve to on the host's PATH (null: not found); the caller does that lookup.
 */
export function describeGrants(m: Manifest, dir: string, commands: Readonly<Record<string, string | null>> = {}): GrantRow[] {
  const rows: GrantRow[] = [];
  const p = m.permissions ?? {};
  const list = <T>(kind: string, value: true | readonly T[] | undefined, field: string, all: string, covers: (rule: T) => string) => {
    if (value === undefined) return;
    if (value === true) rows.push({ kind, rule: "true", source: field, covers: all });
    else value.forEach((rule, i) => rows.push({ kind, rule: String(rule), source: `${field}[${i}]`, covers: covers(rule) }));
  };
  list("read", p.read, "permissions.read", "every path except /proc, /sys and /dev", (r: string) => pathCovers(r, dir));
  list("write", p.write, "permissions.write", "every path except /proc, /sys and /dev", (r: string) => pathCovers(r, dir));
  list("net", p.net, "permissions.net", "every public host (loopback, private and link-local addresses still need their own rule)", netCovers);
  list("exec", p.exec, "permissions.exec", "every command", (r: string) => {
    if (isAbsolute(r)) return r;
    const found = commands[r];
    return found === undefined ? `${r}, looked up on the host's PATH when the plugin loads` : found === null ? `NOTHING: ${r} is not on this host's PATH` : found;
  });
  list("env", p.env, "permissions.env", "every environment variable", envCovers);
  if (p.channels === true) rows.push({ kind: "channels", rule: "true", source: "permissions.channels", covers: "publish and subscribe on every topic" });
  else if (p.channels !== undefined) {
    list("publish", p.channels.publish, "permissions.channels.publish", "every topic", topicCovers);
    list("subscribe", p.channels.subscribe, "permissions.channels.subscribe", "every topic", topicCovers);
  }
  list("plugins", p.plugins, "permissions.plugins", "every plugin", (r: string) => `entries of plugin ${r}`);
  return rows;
}

/** Render rows as an aligned text table. */
export function formatGrantTable(rows: readonly GrantRow[]): string {
  if (rows.length === 0) return "grants: none (the plugin can only compute and log)\n";
  const head: GrantRow = { kind: "KIND", rule: "RULE", source: "WHERE", covers: "COVERS" };
  // Every cell may hold text from plugin.json (a grant, the path or command it resolves to): each
  // is escaped here, where the table is made, so no caller can forget one.
  const cell = (r: GrantRow): GrantRow => ({ kind: escapeText(r.kind), rule: escapeText(r.rule), source: escapeText(r.source), covers: escapeText(r.covers) });
  const all = [head, ...rows.map(cell)];
  const w = (k: keyof GrantRow) => Math.max(...all.map((r) => r[k].length));
  const [wk, wr, ws] = [w("kind"), w("rule"), w("source")];
  return all.map((r) => `${r.kind.padEnd(wk)}  ${r.rule.padEnd(wr)}  ${r.source.padEnd(ws)}  ${r.covers}`).join("\n") + "\n";
}
