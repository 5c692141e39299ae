// A command a plugin started dies with the plugin: unloading it (or its call running out of time)
// kills the command's whole process group, whatever the plugin left running.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
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

async function pidFrom(file: string): Promise<number> {
  for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 20));
  return Number(readFileSync(file, "utf8"));
}

describe("exec and the plugin's lifetime", () => {
  before(async () => {
    s = scratch();
    const dir = s.plugin("sleeper", manifest("test.sleeper", { permissions: { exec: ["sh"] }, limits: { timeoutMs: 20_000 } }), {
      "index.js": `export async function start(pidFile) { return Warden.exec("sh", ["-c", "sleep 60 & echo $! > " + pidFile + "; wait"]); }
export async function quick() { return (await Warden.exec("sh", ["-c", "echo ok"])).stdout; }`,
    });
    plugin = await loadPlugin(dir, { audit: memoryAuditLog(), logger: createDefaultLogger("silent") });
  });
  after(() => s.cleanup());

  it("positive control: a command runs and returns", async () => {
    assert.equal(await plugin.invoke("quick"), "ok\n");
  });

  it("unloading the plugin kills a command it is still running, and its children", async () => {
    const pidFile = join(s.root, "sleep.pid");
    const outcome = plugin.invoke("start", pidFile).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    const pid = await pidFrom(pidFile);
    await plugin.close();
    const err = await outcome;
    assert.equal(err?.code, "PLUGIN_ERROR");
    assert.match(err?.message ?? "", /unloaded/);
    assert.equal(await gone(pid), true, "the command's background child was killed");
  });
});
