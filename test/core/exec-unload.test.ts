// A command a plugin started dies with the plugin: unloading it (or its call running out of time)
// kills the command's whole process group, whatever the plugin left running.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { isRunning } from "../helpers/ports.ts";

let s: Scratch;
let plugin: PluginHandle;

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    // A killed process whose parent died stays a zombie until init reaps it: that is gone too.
    if (!isRunning(pid)) return true;
    await new Promise((r) => setTimeout(r, 30));
  }
  return false;
}

// The command's background child, found by its command line as the host sees it (under the OS
// sandbox the command has a pid namespace of its own, so a pid it reports would mean nothing here).
function processesRunning(cmdline: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim() === cmdline && isRunning(Number(entry))) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

async function started(cmdline: string): Promise<number> {
  for (let i = 0; i < 250; i++) {
    const [pid] = processesRunning(cmdline);
    if (pid !== undefined) return pid;
    await new Promise((r) => setTimeout(r, 20));
  }
  return assert.fail(`${cmdline} never started`);
}

describe("exec and the plugin's lifetime", () => {
  before(async () => {
    s = scratch();
    const dir = s.plugin("sleeper", manifest("test.sleeper", { permissions: { exec: ["sh"] }, limits: { timeoutMs: 20_000 } }), {
      "index.js": `export async function start(seconds) { return Warden.exec("sh", ["-c", "sleep " + seconds + " & wait"]); }
export async function quick() { return (await Warden.exec("sh", ["-c", "echo ok"])).stdout; }`,
    });
    plugin = await loadPlugin(dir, { audit: memoryAuditLog(), logger: createDefaultLogger("silent") });
  });
  after(() => s.cleanup());

  it("positive control: a command runs and returns", async () => {
    assert.equal(await plugin.invoke("quick"), "ok\n");
  });

  it("unloading the plugin kills a command it is still running, and its children", async () => {
    // A number no other process on the machine is likely to be sleeping for.
    const seconds = String(6000 + (process.pid % 1000));
    const outcome = plugin.invoke("start", seconds).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    const pid = await started(`sleep ${seconds}`);
    await plugin.close();
    const err = await outcome;
    assert.equal(err?.code, "PLUGIN_ERROR");
    assert.match(err?.message ?? "", /unloaded/);
    assert.equal(await gone(pid), true, "the command's background child was killed");
  });
});
