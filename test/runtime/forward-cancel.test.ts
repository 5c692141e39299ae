// A capability call an engine forwarded is given up when the plugin's isolate goes: the host is
// told and aborts the operation (here a command, which is killed), instead of letting it run on
// for a plugin that can no longer receive its answer.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createHost, type Host } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";
import { commandLine, descendants } from "../helpers/process-tree.ts";

const logger = createDefaultLogger(process.env["TEST_LOG"] ?? "silent");

function sleeper(arg: string): number | undefined {
  return descendants(process.pid).find((p) => commandLine(p) === `sleep ${arg}` || commandLine(p).endsWith(`/sleep ${arg}`));
}

describe("forwarded capability calls", () => {
  let s: Scratch;
  let host: Host;

  before(async () => {
    s = scratch();
    s.plugin("plugins/bg", manifest("cancel.bg", { permissions: { exec: ["sleep"] }, limits: { cpuMs: 200, timeoutMs: 60_000 } }), {
      "index.js": `
let running = null;
export function start(seconds) { running = Warden.exec("sleep", [seconds]).catch(() => null); return "started"; }
export function spin() { for (;;) {} }
`,
    });
    host = await createHost({ pluginsDir: join(s.root, "plugins"), auditLog: memoryAuditLog(), logger, healthIntervalMs: 0 });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  it("are aborted by the host when the plugin's isolate is condemned", async () => {
    const arg = `45.${process.pid}`;
    assert.equal(await host.invoke("cancel.bg", "start", arg), "started");
    await until("the command to start", () => sleeper(arg) !== undefined);
    // Control: left alone, the command keeps running (its own deadline is a minute away).
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(sleeper(arg) !== undefined, "the background command runs while the isolate lives");
    await assert.rejects(host.invoke("cancel.bg", "spin"), (e: Error & { code?: string }) => e.code === "CPU_LIMIT");
    await until("the command to be killed once its isolate was condemned", () => sleeper(arg) === undefined);
  });
});
