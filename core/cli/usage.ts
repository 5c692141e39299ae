// Help texts of the CLI.
export const MAIN_USAGE = `warden: run untrusted plugins in V8 isolates, with only the permissions their manifest declares

Usage:
  warden run <plugin-dir> <entry> [--input <json>] [--config <file>] [--audit-log <file>] [--json]
  warden check <plugin-dir> [--json]
  warden audit <audit-log> [--json]
  warden <command> --help

Exit status: 0 success; 1 the call failed (the error code says why); 2 invalid manifest or usage;
3 the audit log was tampered with.
`;

export const RUN_USAGE = `Usage: warden run <plugin-dir> <entry> [options]

Load the plugin in <plugin-dir>, call its exported function <entry> once, print the result.

Options:
  --input <json>      the entry's input, as JSON (default: no input)
  --config <file>     a JSON file with the plugin's configuration (validated against its schema)
  --audit-log <file>  where grant, use and denial records go (default: .warden/audit.jsonl)
  --json              print exactly one JSON object: {"ok":true,"value":...} or
                      {"ok":false,"error":{"code":"...","message":"..."}}

Exit status: 0 the entry returned a value; 1 it failed (PERMISSION_DENIED, PLUGIN_ERROR, TIMEOUT, ...).
`;

export const CHECK_USAGE = `Usage: warden check <plugin-dir> [--json]

Validate <plugin-dir>/plugin.json. Prints one line per problem, naming the field path.

Exit status: 0 valid (warnings allowed); 2 invalid.
`;

export const AUDIT_USAGE = `Usage: warden audit <audit-log> [--json]

Verify the hash chain of an audit log and print a per-plugin summary of grants, uses and denials,
and the head hash (keep it: a log cut short after it can then be detected).

Exit status: 0 intact; 3 tampered (naming the first bad record by its line number); 1 unreadable.
`;
