// Help texts of the CLI.
export const MAIN_USAGE = `warden: run untrusted plugins in V8 isolates, with only the permissions their manifest declares

Usage:
  warden run <plugin-dir> <entry> [--input <json>] [--config <file>] [--audit-log <file>] [--approvals required] [--json]
  warden check <plugin-dir> [--audit-log <file> [--since <date>]] [--json]
  warden audit <audit-log> [--json]
  warden new <plugin-dir> [--id <id>] [--ts] [--json]
  warden doctor [--json]
  warden install <plugin-dir | file.tgz> [--plugins-dir <dir>] [--sha256 <hex>] [--json]
  warden grants ls | approve <id> | deny <id> | revoke <id> | diff <id> | usage [--plugins-dir <dir>] [--json]
  warden ls [--plugins-dir <dir>] [--json]
  warden serve [--plugins-dir <dir>] [--audit-log <file>] [--host <addr>] [--port <n>] [--allow-remote] [--approvals required|off] [--json]
  warden <command> --help

Exit status: 0 success; 1 the call failed or the install was refused (the error code says why);
2 invalid manifest or usage; 3 the audit log was tampered with.
`;

export const RUN_USAGE = `Usage: warden run <plugin-dir> <entry> [options]

Load the plugin in <plugin-dir>, call its exported function <entry> once, print the result.

Options:
  --input <json>      the entry's input, as JSON (default: no input)
  --config <file>     a JSON file with the plugin's configuration (validated against its schema)
  --audit-log <file>  where grant, use and denial records go (default: .warden/audit.jsonl)
  --approvals required  run only with the grants approved for it (warden grants approve), with
                      the approval's expiry and quotas; otherwise APPROVAL_REQUIRED (default: off)
  --plugins-dir <dir> where its approvals are (default: the directory holding <plugin-dir>)
  --json              print exactly one JSON object: {"ok":true,"value":...} or
                      {"ok":false,"error":{"code":"...","message":"..."}}

Exit status: 0 the entry returned a value; 1 it failed (PERMISSION_DENIED, PLUGIN_ERROR, TIMEOUT, ...).
`;

export const CHECK_USAGE = `Usage: warden check <plugin-dir> [--audit-log <file> [--since <date>]] [--json]

Validate <plugin-dir>/plugin.json and the plugin's code: prints the grant table, then one line per
problem, naming the field path. The modules are loaded as the sandbox loads them (imports resolved
inside the plugin, TypeScript stripped of its types, everything compiled and linked) but never run.
Type errors are not reported: that is the author's type checker's job.

Options:
  --audit-log <file>  also show, per rule, its uses, last use and the denials the log records for
                      this plugin (its hash chain is verified first), the rules never used, and the
                      smaller permissions that would have sufficed
  --since <date>      count only records from then on: 2024-05-01 (midnight UTC),
                      2024-05-01T12:00:00Z (a time with its zone) or 7d, 12h, 30m back from now
  --json              print {"ok":true,"id":...,"grants":[...],...}; with --audit-log each grant
                      gains "uses" and "lastUsed", and "usage" holds the denials and the rest

Exit status: 0 valid (warnings allowed); 2 invalid, or an unreadable audit log or malformed --since;
3 the audit log was tampered with.
`;

export const AUDIT_USAGE = `Usage: warden audit <audit-log> [--head <hash>] [--json]

Verify the hash chain of an audit log and print a per-plugin summary of grants, uses and denials,
and the head hash. Each record must be exactly what warden writes (UTF-8, one JSON form).

  --head <hash>   a head an earlier run printed: the log must still hold that record, so a log
                  cut short (or deleted, or rewritten) after it is TAMPERED
  WARDEN_AUDIT_KEY  (environment) the audit key of a keyed log (createHost's auditKey): every
                  record must carry its HMAC; the output says whether the host closed the log
  WARDEN_AUDIT_KEY_FILE  (environment) instead: a file private to its owner (mode 600) holding it

Exit status: 0 intact; 3 tampered (naming the first bad record by its line number); 2 usage; 1 unreadable.
`;

export const NEW_USAGE = `Usage: warden new <plugin-dir> [--id <id>] [--ts] [--json]

Create a plugin in <plugin-dir> (a new or empty directory; nothing is ever overwritten):
plugin.json (with "$schema" pointing at this warden's schema, so editors complete it offline),
index.js or, with --ts, index.ts (types are stripped when the plugin loads: no build step),
tsconfig.json using warden's plugin API types (warden/plugin), index.test.js that runs the plugin
through warden's library (npm test), and package.json.

Options:
  --id <id>   the plugin id, dot-separated lowercase segments (default: local.<directory name>)
  --ts        write the plugin in TypeScript
  --json      print {"ok":true,"dir":...,"id":...,"files":[...]} or {"ok":false,"error":{...}}

Exit status: 0 created; 2 invalid usage, id or directory.
`;

export const DOCTOR_USAGE = `Usage: warden doctor [--json]

Print which layers of isolation this machine provides: the isolate (the isolated-vm build for this
Node), the engine process, and the OS sandbox (bubblewrap: found on PATH and tried once with the
engines' own flags; if it is missing or refused, why and how to fix it).

Options:
  --json      print {"ok":true,"isolate":{...},"engineProcess":{...},"osSandbox":{...},...}

Exit status: 0 (whatever the machine provides); 2 invalid usage.
`;

export const INSTALL_USAGE = `Usage: warden install <plugin-dir | file.tgz> [--plugins-dir <dir>] [--sha256 <hex>] [--json]

Install a plugin into the plugins directory, as the directory named by its id, and record it in
<dir>/warden-lock.json (id, version, source, sha256 of the tarball or of the directory's file
listing, sha256 of plugin.json, its permissions and limits). A plugin whose id is installed already
is updated: the new version replaces the old at once, and the old stays if anything fails.

A tarball (.tgz, .tar.gz or .tar, with plugin.json at its top or in a single top-level directory)
is checked against --sha256 before anything is unpacked, then every entry is checked: no absolute
paths, no '..', no links leading out, no devices or FIFOs, size and file-count caps. The manifest
is validated before anything lands in the plugins directory. A refused install changes nothing.

Options:
  --plugins-dir <dir>  the plugins directory (default: plugins; created if missing)
  --sha256 <hex>       the expected sha256 (64 hex digits): of the tarball's bytes (sha256sum), or
                       of a directory's file listing (as a previous install recorded it)
  --json               print {"ok":true,"action":"installed"|"updated","id":...,"version":...,...}
                       or {"ok":false,"error":{"code":"...","message":"..."}}

Exit status: 0 installed or updated; 1 refused (INTEGRITY_MISMATCH, PACKAGE_UNSAFE,
PACKAGE_TOO_LARGE, PACKAGE_INVALID, MANIFEST_INVALID, INSTALL_CONFLICT, LOCK_FILE_INVALID); 2 usage
(a missing source, a malformed --sha256).
`;

export const GRANTS_USAGE = `Usage: warden grants <subcommand> [--plugins-dir <dir>] [--json]

The operator's consent to what plugins may do. A host created with approvals "required" loads a
plugin only with grants approved here, pinned to its version and plugin.json hash; an update that
asks for more stays pending (the approved version keeps running) until approved again. Decisions
live in <dir>/warden-approvals.json; each is also a record in <dir>/warden-consent.jsonl (verify it
with warden audit). A host with watch on applies a decision at once.

Subcommands:
  ls                     every plugin: the grants it requests, approved | pending | denied |
                         revoked | expired, and the version and hash its decision is pinned to
  approve <id>           approve what <id> asks for now
      --only <kinds>     only these kinds (read,write,net,exec,env,channels,plugins); the rest is not granted
      --expires <date>   after it (2027-01-31, or an ISO time) every capability call is denied
      --net-requests-per-minute <n>  --net-bytes-per-day <n>
      --exec-per-minute <n>          --write-bytes-per-day <n>
                         quotas: past one, calls are denied with the figure
  deny <id> [--reason <text>]    refuse it: it does not load (a running one loses every grant)
  revoke <id> [--reason <text>]  the kill switch: every grant stops at once, the plugin stays loaded
  diff <id>              what <id> asks for beyond its approval (+) and no longer asks for (-)
  usage                  uses, last use and denials per grant rule from the audit log, the grants
                         never used, and the smaller manifest that would have sufficed
                         (warden grants usage --help)

Options:
  --plugins-dir <dir>    the plugins directory (default: plugins)
  --json                 print exactly one JSON object

Exit status: 0 done; 1 refused; 2 usage (an unknown id or subcommand, a malformed option, an
approvals file warden cannot read: nothing is changed).
`;

export const GRANTS_USAGE_USAGE = `Usage: warden grants usage [<plugin-id>...] [--plugins-dir <dir>] [--audit-log <file>] [--since <date>] [--json]

Read the audit log (its hash chain is verified first: nothing is shown from a tampered log) and
print, per plugin and per grant rule: its uses and last use; the requests no rule covered (denials,
per permission and value); the rules never used in the period; and the permissions that would have
sufficed (only the rules that were used). Every plugin of the plugins directory is listed, and every
plugin id the log names in the period (flagged NOT INSTALLED when it is not in the directory; its
rules then come from its last grant record in the log). Uses and denials the log counted in
aggregate records (repeats, storms, records past the audit budget) are counted in full; their
values, which the log did not keep, are shown as counted.

Options:
  --plugins-dir <dir>  the plugins directory (default: plugins)
  --audit-log <file>   the audit log (default: .warden/audit.jsonl, where warden run writes)
  --since <date>       count only records from then on: 2024-05-01 (midnight UTC),
                       2024-05-01T12:00:00Z (a time with its zone) or 7d, 12h, 30m back from now
  --json               print {"ok":true,"since":...,"records":N,"plugins":[{"id":...,"rules":[...],
                       "neverUsed":[...],"denied":[...],"sufficient":{...}},...]}, or
                       {"ok":false,"error":{"code":"...","message":"..."}}, or for a tampered log
                       {"ok":false,"auditLog":...,"line":N,"reason":"..."}

Exit status: 0 shown; 2 usage (a malformed --since, an unknown plugin id, an unreadable audit log or
plugins directory); 3 the audit log was tampered with.
`;

export const LS_USAGE = `Usage: warden ls [--plugins-dir <dir>] [--json]

List the plugins of the plugins directory: id, version, approval state (approved | pending |
denied | revoked | expired) and one line of what each asks for (read 2, net 1, exec: true).
warden grants ls shows each grant in full.

Options:
  --plugins-dir <dir>  the plugins directory (default: plugins)
  --json               print {"ok":true,"plugins":[{"id":...,"version":...,"state":...,"grants":...}],"rejected":[...]}

Exit status: 0 listed; 2 usage (an unreadable plugins directory or approvals file).
`;

export const SERVE_USAGE = `Usage: warden serve [--plugins-dir <dir>] [--audit-log <file>] [--host <addr>] [--port <n>] [--allow-remote] [--approvals required|off] [--json]

Run a host over the plugins directory (watching it) and the operator's console on it: the admin
API, /metrics and a web dashboard (docs/console-api.md). Every API call needs
"Authorization: Bearer <token>"; the token is made on first start, stored with mode 0600 in
warden-console.token next to the audit log, and printed once, in the URL to open
(http://127.0.0.1:7700/#token=...). Runs until SIGINT or SIGTERM.

Options:
  --plugins-dir <dir>  the plugins directory (default: plugins)
  --audit-log <file>   the host's audit log (default: .warden/audit.jsonl)
  --host <addr>        the address to listen on (default: 127.0.0.1); one that is not loopback
                       needs --allow-remote
  --port <n>           the port (default: 7700; 0: any free port, printed)
  --allow-remote       listen on a non-loopback address (plain HTTP: only behind a TLS proxy)
  --approvals <mode>   required (default): plugins load only with approved grants; off
  --json               print one JSON object once listening: {"ok":true,"url":...,"tokenFile":...}
                       (with "openUrl", holding the token, only when the token was just made)

Exit status: 0 stopped by a signal; 1 the host or server failed; 2 usage (a non-loopback --host
without --allow-remote, a port in use, a token file readable by others, an approvals file warden
cannot read).
`;
