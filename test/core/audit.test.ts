// The audit log's hash chain: a clean log verifies; any edit, deletion, swap or insertion is found
// at the first bad record (1-based line).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { memoryAuditLog, openAuditLog } from "../../core/audit/audit-log.ts";
import { boundEvent, clipText } from "../../core/audit/bounded-record.ts";
import { verifyAuditText } from "../../core/audit/verify-audit.ts";
import { scratch } from "../helpers/plugin-dir.ts";

function sampleLog(): { file: string; lines: string[]; cleanup: () => void } {
  const s = scratch();
  const file = join(s.root, "audit.jsonl");
  const log = openAuditLog(file);
  log.append({ type: "grant", plugin: "a.b", permissions: { read: ["data/"] } });
  log.append({ type: "use", plugin: "a.b", op: "Warden.fs.readTextFile()", value: "data/x" });
  log.append({ type: "deny", plugin: "a.b", op: "Warden.fs.readTextFile()", value: "/etc/passwd\u001b[2J\u202e" });
  log.append({ type: "grant", plugin: "c.d", permissions: {} });
  log.close();
  // Reopening continues the same chain.
  const again = openAuditLog(file);
  again.append({ type: "deny", plugin: "c.d", value: "/root" });
  again.close();
  return { file, lines: readFileSync(file, "utf8").trimEnd().split("\n"), cleanup: () => s.cleanup() };
}

describe("audit log", () => {
  it("a clean log verifies and summarises per plugin (positive control)", () => {
    const { lines, cleanup } = sampleLog();
    const v = verifyAuditText(`${lines.join("\n")}\n`);
    assert.equal(v.ok, true);
    assert.deepEqual(v.ok ? v.summary : null, { "a.b": { grants: 1, uses: 1, denials: 1, other: 0 }, "c.d": { grants: 1, uses: 0, denials: 1, other: 0 } });
    assert.equal(v.ok ? v.records : 0, 5);
    cleanup();
  });

  it("escapes control and bidi characters from plugin values", () => {
    const { lines, cleanup } = sampleLog();
    assert.ok(lines[2]?.includes("\\\\u{001b}[2J\\\\u{202e}"), lines[2]);
    assert.ok(!lines[2]?.includes("\u202e"));
    cleanup();
  });

  it("detects a change of one byte in any record", () => {
    const { lines, cleanup } = sampleLog();
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? "";
      for (const pos of [2, Math.floor(line.length / 2), line.length - 3]) {
        const ch = line[pos] === "a" ? "b" : "a";
        const edited = [...lines];
        edited[i] = line.slice(0, pos) + ch + line.slice(pos + 1);
        const v = verifyAuditText(edited.join("\n"));
        assert.equal(v.ok, false, `edit at line ${i + 1} pos ${pos} not detected`);
        assert.equal(v.ok ? 0 : v.line, i + 1);
      }
    }
    cleanup();
  });

  it("detects a deleted, swapped or inserted line and names the first bad one", () => {
    const { lines, cleanup } = sampleLog();
    const del = verifyAuditText([lines[0], lines[2], lines[3], lines[4]].join("\n"));
    assert.deepEqual(del.ok ? null : [del.line, /deleted/.test(del.reason)], [2, true]);
    const swap = verifyAuditText([lines[0], lines[2], lines[1], lines[3], lines[4]].join("\n"));
    assert.equal(swap.ok ? 0 : swap.line, 2);
    const ins = verifyAuditText([lines[0], lines[1], lines[1], lines[2]].join("\n"));
    assert.equal(ins.ok ? 0 : ins.line, 3);
    const first = verifyAuditText(lines.slice(1).join("\n"));
    assert.equal(first.ok ? 0 : first.line, 1);
    cleanup();
  });

  it("refuses to continue a file that is not a warden audit log", () => {
    const s = scratch();
    const file = join(s.root, "x.jsonl");
    writeFileSync(file, '{"hello":1}\n');
    assert.throws(() => openAuditLog(file), /does not end with a warden record/);
    s.cleanup();
  });
});

describe("audit records from a sandbox process the host does not trust (issue 11, class 8)", () => {
  it("the host keeps only the known fields, clips every text, stamps the plugin last and names an unknown type", () => {
    const huge = "v".repeat(1 << 20);
    const r = boundEvent(
      { type: "deny", op: "Warden.env.get()", permission: "env", value: huge, reason: `no rule covers ${huge}`, plugin: "someone.else", extra: { nested: huge }, decision: "denied" },
      "t.real",
    );
    assert.equal(r.plugin, "t.real");
    assert.equal(r["extra"], undefined);
    assert.equal(String(r["value"]).length <= 1024 && String(r["reason"]).length <= 1024, true);
    assert.equal(r["value"], clipText(huge));
    assert.equal(boundEvent({ type: "grant", value: 5 }, "t.real").type, "malformed-event");
    assert.deepEqual(
      boundEvent({ type: "use", op: "x", value: "data/x", rule: "data/" }, "t.real"),
      { type: "use", op: "x", value: "data/x", rule: "data/", plugin: "t.real" },
      "positive control: a normal event is unchanged",
    );
  });

  it("clipped values and the aggregate and suppressed records verify, and the summary counts what they stand for", () => {
    const log = memoryAuditLog();
    log.append({ type: "deny", plugin: "a.b", value: clipText("x".repeat(5000)) });
    log.append({ type: "deny-aggregate", plugin: "a.b", count: 40, samples: [clipText("y".repeat(5000), 256)] });
    log.append({
      type: "audit-suppressed",
      plugin: "a.b",
      records: 3,
      counts: [
        { type: "use", permission: "read", op: "o", rule: "data/", records: 2, count: 2 },
        { type: "deny-repeat", permission: "read", op: "o", records: 1, count: 7 },
      ],
    });
    const v = verifyAuditText(`${log.lines.join("\n")}\n`);
    assert.equal(v.ok, true);
    assert.deepEqual(v.ok ? v.summary["a.b"] : null, { grants: 0, uses: 2, denials: 1 + 40 + 7, other: 0 });
  });
});
