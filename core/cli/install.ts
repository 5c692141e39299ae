// `warden install <dir | file.tgz> [--plugins-dir D] [--sha256 HEX] [--json]`: the CLI face of
// installPlugin (core/install/). Exit status 0 installed or updated; 1 refused (the error code says
// why, nothing changed); 2 usage (a missing source, a malformed --sha256, unknown options).
import { DEFAULTS } from "../../defaults/index.ts";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { approvalsFilePath, readApprovals } from "../consent/approvals-file.ts";
import { judgeConsent } from "../consent/consent-verdict.ts";
import { stateOf } from "../consent/grant-decisions.ts";
import { WARDEN_VERSION } from "../version.ts";
import { parseArgs } from "node:util";
import { BadInputError, toWardenError, escapeText } from "../../errors/index.ts";
import { installPlugin } from "../install/install.ts";
import { formatProblems, readManifest } from "../../manifests/index.ts";
import { EXIT, refuse } from "./cli-errors.ts";
import { printJson, shownPath } from "./output.ts";
import { INSTALL_USAGE } from "./usage.ts";

/**
 * Where the installed version stands with the plugins directory's approvals, when it has an
 * approvals file (null otherwise: nobody asked for approvals there). Never fails the install: a
 * corrupt approvals file is the grants commands' error to report.
 */
async function consentOf(pluginsDir: string, dir: string): Promise<{ state: string; growth: readonly string[] } | null> {
  if (!existsSync(approvalsFilePath(resolve(pluginsDir)))) return null;
  try {
    const loaded = await readManifest(dir, WARDEN_VERSION);
    const v = await judgeConsent(loaded, (await readApprovals(resolve(pluginsDir))).plugins[loaded.manifest.id], resolve(pluginsDir));
    return { state: stateOf(v), growth: v.kind === "approved" ? [] : v.growth };
  } catch (e) {
    return { state: `unknown (${toWardenError(e).code}: run warden grants ls)`, growth: [] };
  }
}

/** Run `warden install` with its arguments; resolves to the exit status. */
export async function installCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { "plugins-dir": { type: "string" }, sha256: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
    });
  } catch (e) {
    return refuse(e, args.includes("--json"), "install");
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(INSTALL_USAGE);
    return EXIT.ok;
  }
  const [source] = positionals;
  if (source === undefined || positionals.length !== 1) {
    return refuse(
      new BadInputError(`usage: warden install <plugin-dir | file.tgz> [--plugins-dir <dir>] [--sha256 <hex>] [--json]; got ${positionals.length} positional argument(s)`),
      values.json,
      "install",
    );
  }
  try {
    const pluginsDir = values["plugins-dir"] ?? DEFAULTS.cli.pluginsDir;
    const r = await installPlugin({ source, pluginsDir, sha256: values.sha256 });
    const consent = await consentOf(pluginsDir, r.dir);
    if (values.json) {
      printJson({
        ok: true,
        action: r.action,
        id: r.id,
        version: r.next.version,
        dir: r.dir,
        previous: r.previous === null ? null : { version: r.previous.version, manifestSha256: r.previous.manifestSha256 },
        integrity: r.entry.integrity,
        manifestSha256: r.entry.manifestSha256,
        lockFile: r.lockFile,
        warnings: r.warnings,
        approval: consent,
      });
    } else {
      const from = r.previous === null ? "" : ` (was ${escapeText(r.previous.version)})`;
      process.stdout.write(`${r.action} ${r.id} ${escapeText(r.next.version)}${from} into ${shownPath(r.dir)}\n`);
      process.stdout.write(`sha256 of the ${r.entry.integrity.of === "tarball" ? "tarball" : "files"}: ${r.entry.integrity.digest}\n`);
      for (const w of r.warnings) process.stdout.write(`warning: ${formatProblems(r.dir, [w]).split("\n").map(escapeText).join("\n")}\n`);
      process.stdout.write(`recorded in ${shownPath(r.lockFile)}\n`);
      if (consent !== null) {
        const how = `warden grants diff ${r.id} --plugins-dir ${escapeText(pluginsDir)}, then warden grants approve ${r.id} --plugins-dir ${escapeText(pluginsDir)}`;
        if (consent.state === "approved" || consent.state === "expired") process.stdout.write(`approval: ${consent.state}; it asks for nothing beyond what was approved\n`);
        else if (consent.growth.length > 0 && consent.state === "pending")
          process.stdout.write(`approval: pending on a host with approvals required; it asks for more:\n${consent.growth.map((g) => `  + ${escapeText(g)}`).join("\n")}\nto approve: ${how}\n`);
        else process.stdout.write(`approval: ${consent.state} on a host with approvals required; to approve: ${how}\n`);
      }
    }
    return EXIT.ok;
  } catch (e) {
    return refuse(e, values.json, "install");
  }
}
