// `warden grants ls | approve | deny | revoke | diff | usage`: the operator's consent workflow on a
// plugins directory (core/consent/). Every subcommand takes --plugins-dir (default: plugins, like
// `warden install`) and --json. Exit status 0 done; 1 refused (the error code says why, nothing
// changed); 2 usage (an unknown id, a malformed option or a corrupt approvals file).
import { DEFAULTS } from "../../defaults/index.ts";
import { parseArgs } from "node:util";
import { BadInputError, escapeText } from "../../errors/index.ts";
import type { ApprovalQuotas } from "../consent/approvals-file.ts";
import { envCovers, envPrefixSpansFamilies, spansNamespaces, topicCovers } from "../../manifests/index.ts";
import { approveGrants, denyGrants, grantsDiff, listGrants, parseExpiry, parseKinds, revokeGrants, type GrantListing } from "../consent/grant-decisions.ts";
import { grantsUsageCommand } from "./grants-usage.ts";
import { EXIT, refuse } from "./cli-errors.ts";
import { printJson } from "./output.ts";
import { GRANTS_USAGE } from "./usage.ts";

const COMMON = { "plugins-dir": { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", default: false } } as const;

const QUOTA_OPTIONS = {
  "net-requests-per-minute": "netRequestsPerMinute",
  "net-bytes-per-day": "netBytesPerDay",
  "exec-per-minute": "execPerMinute",
  "write-bytes-per-day": "writeBytesPerDay",
} as const satisfies Record<string, keyof ApprovalQuotas>;

function quotasFrom(values: Record<string, unknown>): ApprovalQuotas {
  const out: Record<string, number> = {};
  for (const [flag, field] of Object.entries(QUOTA_OPTIONS)) {
    const v = values[flag];
    if (v === undefined) continue;
    if (typeof v !== "string") throw new BadInputError(`--${flag} needs a value: a positive whole number`, { field: flag });
    const n = Number(v);
    if (!/^[1-9][0-9]*$/.test(v) || !Number.isSafeInteger(n)) throw new BadInputError(`--${flag} must be a positive whole number, got ${JSON.stringify(v)}`, { field: flag, value: v });
    out[field] = n;
  }
  return out;
}

/** What a grant of `kind` covers, in words, when it covers more than it reads ("**", "A*"); else null. */
function wider(kind: string, v: string): string | null {
  if (kind === "channels") return spansNamespaces(v) ? topicCovers(v) : null;
  if (kind === "env") return envPrefixSpansFamilies(v) ? envCovers(v) : null;
  return null;
}

function show(list: unknown, kind = ""): string {
  if (list === true) return "true (everything)";
  if (Array.isArray(list)) {
    const items = list.map((v) => {
      const covers = wider(kind, String(v));
      return covers === null ? item(String(v)) : `${item(String(v))} (${escapeText(covers)})`;
    });
    return items.join(", ") || "(nothing)";
  }
  return escapeText(JSON.stringify(list));
}

// A grant shown bare unless it could be read as something else: one with ", " would look like two
// grants ("data/, /etc/" is one path), spaces at an end would vanish, a quote would look like our
// quoting. Those are shown as JSON strings, so each grant is exactly one visible item.
function item(v: string): string {
  return v.length === 0 || /[,"]|^\s|\s$/.test(v) ? JSON.stringify(escapeText(v)) : escapeText(v);
}

function formatListing(p: GrantListing): string {
  const lines = [`${p.id} ${escapeText(p.version)}  ${p.state}${p.state === "pending" && p.approval?.decision === "approved" ? ` (grew since ${escapeText(p.approval.version)})` : ""}`];
  const requested = Object.entries(p.requested);
  if (requested.length === 0) lines.push("  requests no permissions");
  for (const [kind, value] of requested) {
    if (kind === "channels" && value !== true && typeof value === "object" && value !== null) {
      for (const [dir, topics] of Object.entries(value)) lines.push(`  channels.${dir}: ${show(topics, "channels")}${p.notGranted.includes("channels") ? "  (not granted: --only)" : ""}`);
    } else lines.push(`  ${kind}: ${show(value, kind)}${(p.notGranted as readonly string[]).includes(kind) ? "  (not granted: --only)" : ""}`);
  }
  const a = p.approval;
  if (a !== null) {
    const terms = [a.only !== null ? `only ${a.only.join(",")}` : "", a.expires !== null ? `expires ${a.expires}` : "", ...Object.entries(a.quotas).map(([k, v]) => `${k} ${v}`)].filter(Boolean);
    lines.push(
      `  ${a.decision} ${escapeText(a.version)} (plugin.json sha256 ${a.manifestSha256.slice(0, 12)}…) by ${escapeText(a.by)} at ${a.at}${terms.length > 0 ? `; ${terms.join("; ")}` : ""}${a.reason !== null ? `: ${escapeText(a.reason)}` : ""}`,
    );
  }
  for (const g of p.growth) lines.push(`  + ${escapeText(g)}`);
  return `${lines.join("\n")}\n`;
}

async function ls(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: COMMON });
  if (values.help) return help();
  if (positionals.length > 0) throw new BadInputError(`warden grants ls takes no arguments, got ${positionals.map((p) => JSON.stringify(escapeText(p))).join(" ")}`);
  const r = await listGrants(values["plugins-dir"] ?? DEFAULTS.cli.pluginsDir);
  if (values.json) printJson({ ok: true, ...r });
  else {
    if (r.plugins.length === 0) process.stdout.write("no plugins\n");
    for (const p of r.plugins) process.stdout.write(formatListing(p));
    for (const x of r.rejected) process.stdout.write(`${escapeText(x.dir)}: not a plugin warden can load: ${escapeText(x.reason)}\n`);
  }
  return EXIT.ok;
}

function onlyId(positionals: string[], sub: string): string {
  const [id] = positionals;
  if (id === undefined || positionals.length !== 1) throw new BadInputError(`usage: warden grants ${sub} <plugin-id> [options]; got ${positionals.length} positional argument(s)`);
  return id;
}

async function approve(args: string[]): Promise<number> {
  const str = { type: "string" } as const;
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...COMMON, only: str, expires: str, "net-requests-per-minute": str, "net-bytes-per-day": str, "exec-per-minute": str, "write-bytes-per-day": str },
  });
  if (values.help) return help();
  const id = onlyId(positionals, "approve");
  const v = values as Record<string, unknown>;
  const only = typeof v["only"] === "string" ? parseKinds(v["only"]) : undefined;
  const expires = typeof v["expires"] === "string" ? parseExpiry(v["expires"]) : undefined;
  const quotas = quotasFrom(v);
  const d = await approveGrants({ pluginsDir: values["plugins-dir"] ?? DEFAULTS.cli.pluginsDir, id, only, expires, quotas });
  if (values.json) printJson({ ok: true, approval: d.approval, previous: d.previous, consentLog: d.consentLog });
  else {
    const a = d.approval;
    process.stdout.write(
      `approved ${id} ${escapeText(a.version)}${a.only !== null ? ` (only ${a.only.join(", ")})` : ""}${a.expires !== null ? `, until ${a.expires}` : ""}: pinned to plugin.json sha256 ${a.manifestSha256}\n`,
    );
    process.stdout.write(`recorded in ${escapeText(d.consentLog)}; a host with watch on applies it now, others at host.refreshApprovals() or their next start\n`);
  }
  return EXIT.ok;
}

async function denyOrRevoke(args: string[], sub: "deny" | "revoke"): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...COMMON, reason: { type: "string" } } });
  if (values.help) return help();
  const id = onlyId(positionals, sub);
  const o = { pluginsDir: values["plugins-dir"] ?? DEFAULTS.cli.pluginsDir, id, reason: values.reason };
  const d = sub === "deny" ? await denyGrants(o) : await revokeGrants(o);
  if (values.json) printJson({ ok: true, approval: d.approval, previous: d.previous, consentLog: d.consentLog });
  else
    process.stdout.write(
      `${sub === "deny" ? "denied" : "revoked"} ${id}: ${sub === "deny" ? "it does not load" : "every grant stops"} on a host with approvals required; recorded in ${escapeText(d.consentLog)}\n`,
    );
  return EXIT.ok;
}

async function diff(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: COMMON });
  if (values.help) return help();
  const id = onlyId(positionals, "diff");
  const d = await grantsDiff(values["plugins-dir"] ?? DEFAULTS.cli.pluginsDir, id);
  if (values.json) printJson({ ok: true, ...d });
  else {
    const base = d.approval?.decision === "approved" ? `the approval of ${escapeText(d.approval.version)} (${d.approval.manifestSha256.slice(0, 12)}…)` : "nothing approved";
    process.stdout.write(`${id} ${escapeText(d.version)} against ${base}:\n`);
    for (const g of d.grew) process.stdout.write(`+ ${escapeText(g)}\n`);
    for (const s of d.shrank) process.stdout.write(`- ${escapeText(s)}\n`);
    if (d.grew.length === 0) process.stdout.write(d.shrank.length === 0 ? "no change in permissions\n" : "nothing grew: no new approval needed\n");
  }
  return EXIT.ok;
}

function help(): number {
  process.stdout.write(GRANTS_USAGE);
  return EXIT.ok;
}

/** Run `warden grants <subcommand>` with its arguments; resolves to the exit status. */
export async function grantsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const json = args.includes("--json");
  try {
    switch (sub) {
      case "ls":
      case "list":
        return await ls(rest);
      case "approve":
        return await approve(rest);
      case "deny":
      case "revoke":
        return await denyOrRevoke(rest, sub);
      case "diff":
        return await diff(rest);
      case "usage":
        return await grantsUsageCommand(rest);
      case undefined:
      case "--help":
      case "-h":
        process.stdout.write(GRANTS_USAGE);
        return sub === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw new BadInputError(`warden grants: unknown subcommand ${JSON.stringify(escapeText(sub))}; the subcommands are ls, approve, deny, revoke, diff, usage`);
    }
  } catch (e) {
    return refuse(e, json, "grants");
  }
}
