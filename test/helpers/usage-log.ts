// The audit log the usage CLI tests read: written with a clock, so every figure is known.
import { openAuditLog } from "../../core/audit/audit-log.ts";

/** The permissions of acme.notes in that log. */
export const permissions = { read: ["data/", "cache/"], net: ["api.example.com", "*.example.org"], env: ["TOKEN"] };

/** The audit log of two sessions: January (data/ read, a denial) and June (net used, denials repeated), and a plugin since removed. */
export function writeLog(file: string): void {
  let clock = Date.parse("2024-01-10T08:00:00Z");
  const log = openAuditLog(file, () => new Date(clock));
  const use = (permission: string, rule: string, source: string) => ({ type: "use", plugin: "acme.notes", op: "x", permission, value: "v", decision: "granted", rule, source });
  log.append({ type: "grant", plugin: "acme.notes", version: "1.0.0", permissions });
  log.appendBatch([use("read", "data/", "permissions.read[0]"), use("read", "data/", "permissions.read[0]")]);
  log.append({ type: "deny", plugin: "acme.notes", op: "x", permission: "read", value: "/etc/shadow\u001b[2J", decision: "denied", reason: "no rule" });
  log.append({ type: "grant", plugin: "acme.gone", version: "0.3.0", permissions: { exec: ["git", "ls"] } });
  log.append({ type: "use", plugin: "acme.gone", op: "exec", permission: "exec", value: "git", decision: "granted", rule: "git", source: "permissions.exec[0]" });
  clock = Date.parse("2024-06-01T09:30:00Z");
  log.appendBatch([use("net", "api.example.com", "permissions.net[0]"), use("env", "TOKEN", "permissions.env[0]")]);
  log.append({ type: "deny", plugin: "acme.notes", op: "x", permission: "net", value: "http://169.254.169.254/", decision: "denied", reason: "no rule" });
  log.append({ type: "deny-repeat", plugin: "acme.notes", op: "x", permission: "net", value: "http://169.254.169.254/", decision: "denied", reason: "no rule", count: 9 });
  log.append({
    type: "audit-suppressed",
    plugin: "acme.notes",
    records: 30,
    counts: [{ type: "use", permission: "net", op: "x", rule: "api.example.com", records: 30, count: 30 }],
  });
  log.close();
}
