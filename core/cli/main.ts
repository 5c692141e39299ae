// `warden run | check | audit` (as in the contract), `warden new`, `warden doctor`, `warden install`, `warden grants`, `warden ls` and `warden serve`. Returns the exit status.
import { DEFAULTS } from "../../defaults/index.ts";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { openAuditLog } from "../audit/audit-log.ts";
import { verifyAuditBytes } from "../audit/verify-audit.ts";
import { auditKeyFromEnv } from "./audit-key.ts";
import { BadInputError, toWardenError, type WardenError, escapeText, safeJson } from "../../errors/index.ts";
import { loadPlugin } from "../plugin.ts";
import { WARDEN_VERSION } from "../version.ts";
import type { PluginUsage } from "../audit/grant-usage.ts";
import { formatProblems, readManifest, type LoadedManifest, describeGrants, formatGrantTable } from "../../manifests/index.ts";
import { ConsentGate } from "../../capabilities/index.ts";
import { readApprovals } from "../consent/approvals-file.ts";
import { approvalRequired, judgeConsent, termsOf } from "../consent/consent-verdict.ts";
import { createNodeExec } from "../sys/node-exec.ts";
import { isTypeScriptFile } from "../../isolate/index.ts";
import { diagnose, formatDoctor } from "./doctor.ts";
import { checkPluginModules } from "./module-check.ts";
import { installCommand } from "./install.ts";
import { grantsCommand } from "./grants.ts";
import { lsCommand } from "./ls.ts";
import { serveCommand } from "./serve.ts";
import { scaffoldPlugin } from "./new-plugin.ts";
import { parseSince, readUsageEvidence, type UsageEvidence } from "./usage-evidence.ts";
import { formatGrantUsageTable } from "./usage-tables.ts";
import { cliError, EXIT, printError } from "./cli-errors.ts";
import { cliLogger, printJson } from "./output.ts";
import { AUDIT_USAGE, CHECK_USAGE, DOCTOR_USAGE, MAIN_USAGE, NEW_USAGE, RUN_USAGE } from "./usage.ts";

/** Lines of a message for a terminal: warden's own line breaks kept, every line escaped on its own. */
function lines(text: string): string {
  return text.split("\n").map(escapeText).join("\n");
}

/** Report `e` for run, check or audit: as in the contract, a failed call ends with 1 whatever its code. */
function fail(e: WardenError, json: boolean): number {
  printError(e, json);
  return EXIT.failed;
}

async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      input: { type: "string" },
      config: { type: "string" },
      "audit-log": { type: "string" },
      approvals: { type: "string" },
      "plugins-dir": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  const json = values.json;
  if (values.help) {
    process.stdout.write(RUN_USAGE);
    return EXIT.ok;
  }
  const [dir, entry, ...extra] = positionals;
  if (dir === undefined || entry === undefined || extra.length > 0) {
    return fail(new BadInputError(`usage: warden run <plugin-dir> <entry> [--input <json>] [--config <file>] [--audit-log <file>] [--json]; got ${positionals.length} positional argument(s)`), json);
  }
  let input: unknown;
  if (values.input !== undefined) {
    try {
      input = JSON.parse(values.input);
    } catch (e) {
      return fail(new BadInputError(`--input is not valid JSON (${(e as Error).message}); pass e.g. --input '{"city":"Oslo"}'`), json);
    }
  }
  let config: unknown;
  if (values.config !== undefined) {
    try {
      config = JSON.parse(readFileSync(values.config, "utf8"));
    } catch (e) {
      return fail(new BadInputError(`--config ${escapeText(values.config)}: cannot read it as JSON (${(e as Error).message})`), json);
    }
  }
  const approvals = values.approvals ?? "off";
  if (approvals !== "off" && approvals !== "required") return fail(new BadInputError(`--approvals must be "required" or "off", got ${JSON.stringify(escapeText(approvals))}`), json);
  const auditFile = resolve(values["audit-log"] ?? DEFAULTS.cli.auditLog);
  mkdirSync(dirname(auditFile), { recursive: true });
  let audit: ReturnType<typeof openAuditLog>;
  try {
    audit = openAuditLog(auditFile, undefined, { key: auditKeyFromEnv() });
  } catch (e) {
    return fail(toWardenError(e), json);
  }
  const logger = cliLogger(json);
  try {
    // With approvals required the plugin runs only with what was approved for it, as a host runs it.
    const consent = approvals === "required" ? await consentFor(dir, values["plugins-dir"]) : {};
    const plugin = await loadPlugin(dir, { audit, logger, config, ...consent });
    try {
      const value = await plugin.invoke(entry, input);
      if (json) printJson({ ok: true, value });
      else process.stdout.write(`${safeJson(value, 2)}\n`);
      return EXIT.ok;
    } finally {
      await plugin.close();
    }
  } catch (e) {
    return fail(toWardenError(e), json);
  } finally {
    audit.close();
    if (!json) process.stderr.write(`audit log: ${auditFile}\n`);
  }
}

/** The approved manifest and a consent gate for the plugin in `dir`; APPROVAL_REQUIRED when it is not approved. */
async function consentFor(dir: string, pluginsDirOption: string | undefined): Promise<{ manifest: LoadedManifest; consent: ConsentGate }> {
  const loaded = await readManifest(dir, WARDEN_VERSION);
  const pluginsDir = resolve(pluginsDirOption ?? dirname(loaded.dir));
  const approval = (await readApprovals(pluginsDir)).plugins[loaded.manifest.id];
  const verdict = await judgeConsent(loaded, approval, pluginsDir);
  if (verdict.kind !== "approved") throw approvalRequired(loaded.manifest.id, verdict.reason);
  return { manifest: verdict.manifest, consent: new ConsentGate({ pluginId: loaded.manifest.id, terms: termsOf(verdict.approval) }) };
}

async function checkCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { "audit-log": { type: "string" }, since: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
  });
  if (values.help) {
    process.stdout.write(CHECK_USAGE);
    return EXIT.ok;
  }
  const [dir] = positionals;
  if (dir === undefined || positionals.length !== 1) {
    process.stderr.write(CHECK_USAGE);
    return EXIT.usage;
  }
  // Usage evidence (--audit-log): the log is read and verified before the plugin, so a bad log is
  // reported as the log's problem, never as the manifest's.
  let evidence: UsageEvidence | null = null;
  let since: number | null = null;
  try {
    if (values.since !== undefined && values["audit-log"] === undefined) throw new BadInputError("--since needs --audit-log <file>: it chooses which records of the log are counted");
    if (values.since !== undefined) since = parseSince(values.since);
    if (values["audit-log"] !== undefined) evidence = readUsageEvidence(values["audit-log"], since);
  } catch (e) {
    fail(toWardenError(e), values.json);
    return EXIT.usage;
  }
  if (evidence !== null && !evidence.ok) {
    if (values.json) printJson({ ok: false, auditLog: evidence.file, line: evidence.line, reason: evidence.reason });
    else process.stdout.write(`TAMPERED: ${escapeText(evidence.file)}: first bad record at line ${evidence.line}: ${escapeText(evidence.reason)}; no usage figures are shown from it\n`);
    return EXIT.tampered;
  }
  try {
    const loaded = await readManifest(dir, WARDEN_VERSION);
    // exec grants are resolved the way the sandbox will resolve them, so the table shows what runs.
    const which = createNodeExec(process.env["PATH"] ?? "");
    const commands: Record<string, string | null> = {};
    const exec = loaded.manifest.permissions?.exec;
    const warnings = [...loaded.warnings];
    if (Array.isArray(exec)) {
      for (const [i, cmd] of exec.entries()) {
        if (isAbsolute(cmd)) continue;
        commands[cmd] = await which.which(cmd);
        if (commands[cmd] === null) warnings.push({ field: `permissions.exec[${i}]`, message: `${JSON.stringify(cmd)} is not on this host's PATH, so the grant allows nothing` });
      }
    }
    const grants = describeGrants(loaded.manifest, loaded.dir, commands);
    // The code as the sandbox would load it (compiled and linked, never run): a manifest whose
    // entry module is missing or does not compile is not a plugin that works.
    const main = loaded.manifest.main ?? "index.js";
    const modules = await checkPluginModules(loaded.dir, main);
    if (!modules.ok) {
      const problem = `main (${escapeText(main)}): ${modules.error.message}`;
      if (values.json) printJson({ ok: false, error: { code: modules.error.code, message: modules.error.message, problems: [problem] } });
      else process.stdout.write(`error: ${escapeText(resolve(dir))}/plugin.json: ${lines(problem)}\n`);
      return EXIT.usage;
    }
    const typescript = modules.files.filter(isTypeScriptFile);
    const usage = evidence === null ? null : evidence.tally.plugin(loaded.manifest.id, { permissions: loaded.manifest.permissions ?? {}, version: loaded.manifest.version });
    if (values.json) {
      const withUsage = usage === null ? grants : grants.map((g) => ({ ...g, ...usageOf(usage, g.source) }));
      printJson({
        ok: true,
        id: loaded.manifest.id,
        version: loaded.manifest.version,
        grants: withUsage,
        modules: modules.files,
        warnings,
        ...(usage === null ? {} : { usage: usageJson(usage, since) }),
      });
    } else {
      process.stdout.write(usage === null ? formatGrantTable(grants) : formatGrantUsageTable(grants, usage));
      for (const w of warnings) process.stdout.write(`warning: ${lines(formatProblems(loaded.dir, [w]))}\n`);
      process.stdout.write(`modules: ${modules.files.map(escapeText).join(", ")}${typescript.length > 0 ? ` (${typescript.length} TypeScript: types stripped at load, not checked)` : ""}\n`);
      process.stdout.write(`${loaded.manifest.id} ${loaded.manifest.version}: valid${warnings.length > 0 ? ` with ${warnings.length} warning(s)` : ""}\n`);
    }
    return EXIT.ok;
  } catch (e) {
    const err = toWardenError(e);
    const problems = (err.details.problems ?? [err.message]) as string[];
    if (values.json) printJson({ ok: false, error: { code: err.code, message: err.message, problems } });
    else process.stdout.write(`${problems.map((p) => `error: ${escapeText(resolve(dir))}/plugin.json: ${lines(p)}`).join("\n")}\n`);
    return EXIT.usage;
  }
}

/** A grant row's figures in `warden check --json`. */
function usageOf(usage: PluginUsage, source: string): { uses: number; lastUsed: string | null } {
  const r = usage.rules.find((u) => u.inManifest && u.source === source);
  return { uses: r?.uses ?? 0, lastUsed: r?.lastUsed ?? null };
}

/** The rest of the evidence in `warden check --json` (the rows carry their own figures). */
function usageJson(usage: PluginUsage, since: number | null) {
  const { denied, neverUsed, uses, denials, unattributed, sufficient } = usage;
  return { since: since === null ? null : new Date(since).toISOString(), uses, denials, denied, neverUsed, notInManifest: usage.rules.filter((r) => !r.inManifest), unattributed, sufficient };
}

function auditCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { head: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
  });
  if (values.help) {
    process.stdout.write(AUDIT_USAGE);
    return EXIT.ok;
  }
  const [file] = positionals;
  if (file === undefined || positionals.length !== 1) {
    process.stderr.write(AUDIT_USAGE);
    return EXIT.usage;
  }
  const head = values.head;
  let key: string | undefined;
  try {
    if (head !== undefined && !/^[0-9a-f]{64}$/.test(head))
      throw new BadInputError(`--head ${JSON.stringify(escapeText(head.slice(0, 80)))}: expected the 64-digit lowercase hex head an earlier \`warden audit\` printed`, { field: "head" });
    key = auditKeyFromEnv();
  } catch (e) {
    // The operator's input to fix: usage (2), as the rest of the CLI.
    printError(toWardenError(e), values.json);
    return EXIT.usage;
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    // With a kept head, a log that is gone is a log cut short: everything after the head is missing.
    if (head === undefined || code !== "ENOENT") return fail(new BadInputError(`cannot read the audit log ${escapeText(file)} (${code})`), values.json);
    bytes = Buffer.alloc(0);
  }
  const verdict = verifyAuditBytes(bytes, { key, head });
  if (values.json) {
    printJson(verdict);
    return verdict.ok ? EXIT.ok : EXIT.tampered;
  }
  if (!verdict.ok) {
    process.stdout.write(`TAMPERED: ${escapeText(file)}: first bad record at line ${verdict.line}: ${escapeText(verdict.reason)}\n`);
    return EXIT.tampered;
  }
  process.stdout.write(`intact${verdict.keyed ? " (keyed)" : ""}: ${verdict.records} record(s); head ${verdict.head}\n`);
  if (verdict.keyed) {
    process.stdout.write(
      verdict.closed ? "closed cleanly by its host\n" : "not closed: its host is running, stopped without closing it, or records were cut from its end (compare with a kept head: --head)\n",
    );
  } else process.stdout.write("unkeyed: a rewrite of the whole log, or of its end, would verify too; keep the head, or key the log (auditKey, WARDEN_AUDIT_KEY)\n");
  for (const n of verdict.notices) process.stdout.write(`line ${n.line}: ${escapeText(n.notice)}\n`);
  const rows = Object.entries(verdict.summary)
    .map(([id, s]) => [escapeText(id), s] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(6, ...rows.map(([id]) => id.length));
  process.stdout.write(`${"plugin".padEnd(width)}  grants  uses  denials\n`);
  for (const [id, s] of rows) process.stdout.write(`${id.padEnd(width)}  ${String(s.grants).padStart(6)}  ${String(s.uses).padStart(4)}  ${String(s.denials).padStart(7)}\n`);
  return EXIT.ok;
}

function newCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { id: { type: "string" }, ts: { type: "boolean", default: false }, json: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
  });
  if (values.help) {
    process.stdout.write(NEW_USAGE);
    return EXIT.ok;
  }
  const [dir] = positionals;
  if (dir === undefined || positionals.length !== 1) {
    process.stderr.write(NEW_USAGE);
    return EXIT.usage;
  }
  try {
    const made = scaffoldPlugin({ dir, typescript: values.ts, ...(values.id !== undefined ? { id: values.id } : {}) });
    if (values.json) printJson({ ok: true, ...made });
    else {
      const shown = escapeText(relativeOrAbsolute(made.dir));
      process.stdout.write(
        `created ${shown}: plugin ${made.id} in ${made.main === "index.ts" ? "TypeScript" : "JavaScript"} (${made.files.join(", ")})\n` +
          `next:\n  warden check ${shown}\n  warden run ${shown} hello --input '{"name":"Ada"}'\n  cd ${shown} && npm test\n`,
      );
    }
    return EXIT.ok;
  } catch (e) {
    printError(toWardenError(e), values.json);
    return EXIT.usage;
  }
}

async function doctorCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: "boolean", default: false }, help: { type: "boolean", default: false } } });
  if (values.help) {
    process.stdout.write(DOCTOR_USAGE);
    return EXIT.ok;
  }
  if (positionals.length > 0) {
    process.stderr.write(DOCTOR_USAGE);
    return EXIT.usage;
  }
  const report = await diagnose();
  if (values.json) printJson({ ok: true, ...report });
  else process.stdout.write(formatDoctor(report));
  return EXIT.ok;
}

function relativeOrAbsolute(p: string): string {
  const r = relative(process.cwd(), p);
  return r === "" ? "." : r.startsWith("..") || isAbsolute(r) ? p : r;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "run":
        return await runCommand(rest);
      case "check":
        return await checkCommand(rest);
      case "audit":
        return auditCommand(rest);
      case "new":
        return newCommand(rest);
      case "doctor":
        return await doctorCommand(rest);
      case "install":
        return await installCommand(rest);
      case "grants":
        return await grantsCommand(rest);
      case "ls":
        return await lsCommand(rest);
      case "serve":
        return await serveCommand(rest);
      case undefined:
      case "--help":
      case "-h":
      case "help":
        process.stdout.write(MAIN_USAGE);
        return command === undefined ? EXIT.usage : EXIT.ok;
      case "--version":
        process.stdout.write(`${WARDEN_VERSION}\n`);
        return EXIT.ok;
      default:
        process.stderr.write(`warden: unknown command ${JSON.stringify(escapeText(command))}\n\n${MAIN_USAGE}`);
        return EXIT.usage;
    }
  } catch (e) {
    // parseArgs rejects unknown options with a TypeError; anything else is a bug worth a message.
    const json = argv.includes("--json");
    return fail(cliError(e, String(command)), json);
  }
}
