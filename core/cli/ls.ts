// `warden ls`: the plugins of a plugins directory at a glance: id, version, approval state and a
// one-line summary of what each asks for (warden grants ls has the detail).
import { DEFAULTS } from "../../defaults/index.ts";
import { parseArgs } from "node:util";
import { BadInputError, escapeText } from "../../errors/index.ts";
import { listGrants } from "../consent/grant-decisions.ts";
import type { ManifestPermissions } from "../../manifests/index.ts";
import { EXIT, refuse } from "./cli-errors.ts";
import { printJson } from "./output.ts";
import { LS_USAGE } from "./usage.ts";

/** One line of what `p` asks for: `read 2, net 1, exec: true` (a list by its length, true as such). */
export function grantSummary(p: ManifestPermissions): string {
  const parts: string[] = [];
  for (const [kind, value] of Object.entries(p)) {
    if (value === undefined) continue;
    if (value === true) parts.push(`${kind}: true`);
    else if (Array.isArray(value)) parts.push(`${kind} ${value.length}`);
    else if (typeof value === "object" && value !== null) {
      for (const [dir, topics] of Object.entries(value as Record<string, unknown>)) parts.push(topics === true ? `${dir}: true` : `${dir} ${Array.isArray(topics) ? topics.length : 0}`);
    }
  }
  return parts.length === 0 ? "no grants" : parts.join(", ");
}

/** Run `warden ls`; resolves to the exit status. */
export async function lsCommand(args: string[]): Promise<number> {
  const json = args.includes("--json");
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { "plugins-dir": { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
    });
    if (values.help) {
      process.stdout.write(LS_USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new BadInputError(`warden ls takes no arguments, got ${positionals.map((p) => JSON.stringify(escapeText(p))).join(" ")}; see warden ls --help`);
    const r = await listGrants(values["plugins-dir"] ?? DEFAULTS.cli.pluginsDir);
    const rows = r.plugins.map((p) => ({ id: p.id, version: p.version, state: p.state, grants: grantSummary(p.requested) }));
    if (json) {
      printJson({ ok: true, plugins: rows, rejected: r.rejected });
      return EXIT.ok;
    }
    if (rows.length === 0 && r.rejected.length === 0) process.stdout.write("no plugins\n");
    const shown = rows.map((p) => ({ id: p.id, version: escapeText(p.version), state: p.state, grants: escapeText(p.grants) }));
    const w = (k: "id" | "version" | "state") => Math.max(k.length, ...shown.map((p) => p[k].length));
    const [wi, wv, ws] = [w("id"), w("version"), w("state")];
    if (shown.length > 0) process.stdout.write(`${"ID".padEnd(wi)}  ${"VERSION".padEnd(wv)}  ${"STATE".padEnd(ws)}  GRANTS\n`);
    for (const p of shown) process.stdout.write(`${p.id.padEnd(wi)}  ${p.version.padEnd(wv)}  ${p.state.padEnd(ws)}  ${p.grants}\n`);
    for (const x of r.rejected) process.stdout.write(`${escapeText(x.dir)}: not a plugin warden can load: ${escapeText(x.reason.split("\n")[0] ?? "")}\n`);
    return EXIT.ok;
  } catch (e) {
    return refuse(e, json, "ls");
  }
}
