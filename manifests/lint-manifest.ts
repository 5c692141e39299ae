// Warnings for `warden check`: things that are allowed but that a reviewer should look at twice.
import { isAbsolute, relative, resolve, basename, sep } from "node:path";
import type { Manifest } from "./schema.ts";

/** A non-fatal finding: where it is and why it deserves a look. */
export type ManifestWarning = { readonly field: string; readonly message: string };

const KINDS = ["read", "write", "net", "exec", "env"] as const;

// Commands that run code given to them: granting one is nearly a grant of everything.
const INTERPRETERS = new Set([
  "sh",
  "bash",
  "dash",
  "zsh",
  "ksh",
  "fish",
  "csh",
  "tcsh",
  "busybox",
  "env",
  "xargs",
  "sudo",
  "su",
  "doas",
  "node",
  "nodejs",
  "deno",
  "bun",
  "python",
  "python2",
  "python3",
  "perl",
  "ruby",
  "php",
  "lua",
  "tclsh",
  "pwsh",
  "osascript",
  "awk",
  "gawk",
  "find",
]);

/** True when the absolute `path` is `dir` or lies below it (a name such as `..data` is below it). */
export function inside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** Whether a channel grant's first segment is a wildcard, so it matches topics of every namespace (the host's and other plugins'). */
export function spansNamespaces(rule: string): boolean {
  const first = rule.split(".")[0];
  return first === "*" || first === "**";
}

// An env prefix that ends at a _ names one family (AWS_*); any other (A*, AWS*, _*) also covers
// names of other families: A* covers AWS_SECRET_ACCESS_KEY, AWS* covers AWSCLI_TOKEN.
const FAMILY_PREFIX = /^[A-Za-z][A-Za-z0-9_]*_\*$/;

/** Whether an env grant is a prefix that does not end at a _ (so it reaches past one family of names). */
export function envPrefixSpansFamilies(rule: string): boolean {
  return rule.endsWith("*") && !FAMILY_PREFIX.test(rule);
}

/** Whether an exec grant names an interpreter or another command that runs arbitrary code. */
export function isInterpreter(command: string): boolean {
  return INTERPRETERS.has(basename(command).replace(/[0-9.]+$/, "")) || INTERPRETERS.has(basename(command));
}

/**
 * The warnings of a schema-valid manifest: `true` grants, a missing `engines`, and, when the
 * plugin's directory is known, dangerous combinations (read outside + any host; an interpreter;
 * write access to its own code).
 */
export function lintManifest(manifest: Manifest, dir?: string): ManifestWarning[] {
  const warnings: ManifestWarning[] = [];
  const p = manifest.permissions;
  for (const kind of KINDS) {
    if (p?.[kind] === true) {
      warnings.push({ field: `permissions.${kind}`, message: `true grants every ${kind} access; list only what the plugin needs` });
    }
  }
  if (p?.channels === true) {
    warnings.push({ field: "permissions.channels", message: "true grants publish and subscribe on every topic; list the topics the plugin needs" });
  } else {
    for (const d of ["publish", "subscribe"] as const) {
      const list = p?.channels?.[d];
      if (list === true) warnings.push({ field: `permissions.channels.${d}`, message: `true grants ${d} on every topic` });
      else {
        list?.forEach((rule, i) => {
          if (!spansNamespaces(rule)) return;
          const what = rule === "**" ? "every topic, as true does" : "topics in every namespace";
          warnings.push({
            field: `permissions.channels.${d}[${i}]`,
            message: `${JSON.stringify(rule)} grants ${d} on ${what} (the host application's and other plugins' included) because its first segment is a wildcard; name the namespace (e.g. "chat.*")`,
          });
        });
      }
    }
  }
  if (Array.isArray(p?.env)) {
    p.env.forEach((rule, i) => {
      if (!envPrefixSpansFamilies(rule)) return;
      const prefix = rule.slice(0, -1);
      warnings.push({
        field: `permissions.env[${i}]`,
        message: `${JSON.stringify(rule)} covers every variable whose name starts with ${JSON.stringify(prefix)}, not one family (${JSON.stringify(`${prefix}X_TOKEN`)} too); end the prefix at a _ (e.g. "APP_*") or list the names`,
      });
    });
  }
  if (Array.isArray(p?.exec)) {
    p.exec.forEach((cmd, i) => {
      if (isInterpreter(cmd)) {
        warnings.push({ field: `permissions.exec[${i}]`, message: `${JSON.stringify(cmd)} runs whatever code it is given: granting it is nearly a grant of everything (files, network, env)` });
      }
    });
  }
  if (dir !== undefined) {
    const readsOutside = p?.read === true || (Array.isArray(p?.read) && p.read.some((r) => !inside(resolve(dir, r), dir)));
    if (readsOutside && p?.net === true) {
      warnings.push({
        field: "permissions",
        message: "the plugin can both read files outside its own directory and reach any network host: it could send those files anywhere; list the hosts it needs in permissions.net",
      });
    }
    const ownCode =
      "covers the plugin's own code: warden refuses writes to its plugin.json, .js/.mjs/.ts/.mts modules and node_modules, but everything else there is writable; grant a data directory instead";
    const mainPath = resolve(dir, manifest.main ?? "index.js");
    if (p?.write === true) warnings.push({ field: "permissions.write", message: ownCode });
    else {
      (p?.write ?? []).forEach((w, i) => {
        const path = resolve(dir, w);
        if (inside(dir, path) || inside(mainPath, path)) warnings.push({ field: `permissions.write[${i}]`, message: ownCode });
      });
    }
  }
  if (manifest.engines === undefined) {
    warnings.push({ field: "engines", message: 'missing; add "engines": { "warden": ">=0.1.0 <1.0.0" } so an incompatible warden refuses the plugin clearly' });
  }
  return warnings;
}
