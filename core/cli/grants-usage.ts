// `warden grants usage [<plugin-id>...] [--plugins-dir D] [--audit-log F] [--since DATE] [--json]`:
// per plugin and per grant rule, uses, last use and denials from a verified audit log, the rules
// never used in the period, and the smaller permissions that would have sufficed. Exit status 0;
// 2 usage (a malformed --since, an unknown id, an unreadable log or plugins directory); 3 the log
// was tampered with (and nothing from it is printed).
import { DEFAULTS } from "../../defaults/index.ts";
import { parseArgs } from "node:util";
import type { PluginGrants } from "../audit/grant-usage.ts";
import { BadInputError, escapeText, quote } from "../../errors/index.ts";
import { discoverPlugins } from "../../manifests/index.ts";
import { WARDEN_VERSION } from "../version.ts";
import { EXIT, refuse } from "./cli-errors.ts";
import { printJson, shownPath } from "./output.ts";
import { DEFAULT_AUDIT_LOG, parseSince, readUsageEvidence } from "./usage-evidence.ts";
import { formatPluginUsage } from "./usage-tables.ts";
import { GRANTS_USAGE_USAGE } from "./usage.ts";

/** The installed plugins of `pluginsDir` by id, and the directories skipped (an invalid manifest, a duplicate id). */
async function installedPlugins(pluginsDir: string): Promise<{ grants: Map<string, PluginGrants>; skipped: Array<{ dir: string; reason: string }> }> {
  let found;
  try {
    found = await discoverPlugins(pluginsDir, WARDEN_VERSION);
  } catch (e) {
    throw new BadInputError(`cannot read the plugins directory ${quote(pluginsDir)} (${(e as NodeJS.ErrnoException).code ?? "error"}); pass the one the host loads with --plugins-dir`, {
      value: pluginsDir,
    });
  }
  const grants = new Map<string, PluginGrants>();
  for (const [id, l] of found.found) grants.set(id, { permissions: l.manifest.permissions ?? {}, version: l.manifest.version });
  return { grants, skipped: found.rejected.map((r) => ({ dir: r.dir, reason: r.reason })) };
}

/** Run `warden grants usage` with its arguments (after `usage`); resolves to the exit status. */
export async function grantsUsageCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        "plugins-dir": { type: "string" },
        "audit-log": { type: "string" },
        since: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    return refuse(e, args.includes("--json"), "grants usage");
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(GRANTS_USAGE_USAGE);
    return EXIT.ok;
  }
  const json = values.json;
  const auditLog = values["audit-log"] ?? DEFAULT_AUDIT_LOG;
  const pluginsDir = values["plugins-dir"] ?? DEFAULTS.cli.pluginsDir;
  try {
    const since = values.since === undefined ? null : parseSince(values.since);
    const evidence = readUsageEvidence(auditLog, since);
    if (!evidence.ok) {
      // No figure from a log that was edited: an auditor would be reading what the editor chose.
      if (json) printJson({ ok: false, auditLog, line: evidence.line, reason: evidence.reason });
      else process.stdout.write(`TAMPERED: ${escapeText(auditLog)}: first bad record at line ${evidence.line}: ${escapeText(evidence.reason)}; no usage figures are shown from it\n`);
      return EXIT.tampered;
    }
    const { grants, skipped } = await installedPlugins(pluginsDir);
    const report = evidence.tally.report(grants);
    for (const id of positionals) {
      if (!report.plugins.some((p) => p.id === id)) {
        throw new BadInputError(
          `no plugin ${quote(id)} in ${quote(pluginsDir)} or in the records of ${quote(auditLog)}${since === null ? "" : " since then"}; \`warden grants usage\` without ids lists them all`,
          { value: id },
        );
      }
    }
    const plugins = positionals.length === 0 ? report.plugins : report.plugins.filter((p) => positionals.includes(p.id));
    if (json) {
      printJson({ ok: true, auditLog, head: evidence.head, pluginsDir, since: report.since, records: report.records, first: report.first, last: report.last, plugins, skipped });
      return EXIT.ok;
    }
    for (const s of skipped) process.stderr.write(`warning: skipped ${shownPath(s.dir)}: ${s.reason.split("\n").map(escapeText).join("\n")}\n`);
    const period = report.records === 0 ? "no records" : `${report.records} record(s), ${report.first ?? ""} to ${report.last ?? ""}`;
    process.stdout.write(`audit log ${shownPath(auditLog)}: intact; ${report.since === null ? "all records" : `since ${report.since}`}: ${period}\n`);
    for (const p of plugins) process.stdout.write(`\n${formatPluginUsage(p)}`);
    return EXIT.ok;
  } catch (e) {
    return refuse(e, json, "grants usage");
  }
}
