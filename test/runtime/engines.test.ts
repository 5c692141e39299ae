// Engines as an attacker meets them: plugins share engine processes under the placement policy, a
// plugin that brings its engine down is blamed and moved to an engine of its own while its
// co-tenants come back by themselves, every capability is performed (and audited, before its
// effect) by the host, and an engine holds nothing of the host's (no environment, no grants).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { isWardenError } from "../../errors/index.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { createHost, type Host, type HostEvent } from "../../core/host/host.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";
import { commandLine, descendants } from "../helpers/process-tree.ts";
import { hugeAllocationContained } from "../helpers/node-line.ts";

const logger = createDefaultLogger(process.env["TEST_LOG"] ?? "silent");

/** A bot: subscribes in onLoad, answers every message on its own reply topic. */
function bot(id: string): [object, Record<string, string>] {
  return [
    // A long timeout: `slow` must still be in flight when the bomb's engine dies (on Node 24 that
    // takes until the bomb's own deadline).
    manifest(id, { permissions: { channels: { subscribe: ["chat.in"], publish: [`chat.out.${id.split(".")[1]}`] } }, limits: { timeoutMs: 60_000 } }),
    {
      "index.js": `
export async function onLoad() {
  await Warden.channels.subscribe("chat.in", async (m) => { await Warden.channels.publish("chat.out.${id.split(".")[1]}", { n: m.data.n }); });
}
export function ping() { return "pong"; }
export async function slow() { await new Promise((r) => setTimeout(r, 40000)); return "late"; }
`,
    },
  ];
}

describe("engines", () => {
  let s: Scratch;
  let host: Host;
  const events: HostEvent[] = [];
  const audit = memoryAuditLog();
  let dir: string;

  before(async () => {
    s = scratch();
    dir = join(s.root, "plugins");
    for (const name of ["a", "b", "c"]) {
      const [m, files] = bot(`bots.${name}`);
      s.plugin(`plugins/${name}`, m, files);
    }
    s.plugin("plugins/bomb", manifest("bots.bomb", { permissions: { read: ["."] }, limits: { memoryMb: 16, cpuMs: 5000, timeoutMs: 8000 } }), {
      "index.js": `export async function boom() { await Warden.fs.readTextFile("plugin.json"); Array(1e9).fill(0); return "survived"; }
export function ok() { return "ok"; }`,
    });
    s.plugin("plugins/writer", manifest("bots.writer", { permissions: { write: ["out/"] } }), {
      "index.js": `export async function writeThenBoom() { await Warden.fs.writeTextFile("out/done.txt", "written"); Array(1e9).fill(0); }`,
      "out/.keep": "",
    });
    s.plugin("plugins/runner", manifest("bots.runner", { permissions: { exec: ["sleep"] } }), {
      "index.js": `export async function sleep(seconds) { return (await Warden.exec("sleep", [seconds])).code; }`,
    });
    host = await createHost({ pluginsDir: dir, auditLog: audit, logger, maxPluginsPerEngine: 4, healthIntervalMs: 0 });
    host.on("event", (e: HostEvent) => events.push(e));
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  it("places plugins by policy: bots and the bomb share one engine; write and exec grants get engines of their own", () => {
    const engines = host.engines;
    const shared = engines.filter((e) => !e.dedicated);
    assert.equal(shared.length, 1, JSON.stringify(engines));
    assert.equal(shared[0]?.tenants, 4);
    assert.equal(engines.filter((e) => e.dedicated).length, 2);
    const pid = (id: string) => host.status().find((p) => p.id === id)?.engine?.pid;
    assert.equal(pid("bots.a"), pid("bots.bomb"));
    assert.notEqual(pid("bots.writer"), pid("bots.a"));
    assert.notEqual(pid("bots.runner"), pid("bots.writer"));
  });

  it("an engine starts with an empty environment and performs no capability itself: a command's parent is the host", async () => {
    const pid = host.status().find((p) => p.id === "bots.a")?.engine?.pid;
    assert.ok(pid !== undefined);
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .filter((x) => x !== "");
    assert.deepEqual(environ, []);
    // Control: the host's own environment is not empty (the test would pass vacuously otherwise).
    assert.ok(Object.keys(process.env).length > 2);
    // The command is the host's descendant, not the engine's (under the OS sandbox, bubblewrap sits between).
    const seconds = `2.${process.pid}`;
    const call = host.invoke("bots.runner", "sleep", seconds);
    let sleeper: number | undefined;
    for (let i = 0; i < 200 && sleeper === undefined; i++) {
      sleeper = descendants(process.pid).find((p) => commandLine(p) === `sleep ${seconds}` || commandLine(p).endsWith(`/sleep ${seconds}`));
      if (sleeper === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(sleeper !== undefined, "the command runs below the host");
    const runnerEngine = host.status().find((p) => p.id === "bots.runner")?.engine?.pid;
    assert.ok(runnerEngine !== undefined);
    assert.equal(descendants(runnerEngine).includes(sleeper), false, "and not below its engine");
    assert.equal(await call, 0);
  });

  it("a memory bomb ends the shared engine: the bomb gets MEMORY_LIMIT and is moved; its co-tenants get ENGINE_RESTARTED and answer again by themselves", async () => {
    const replies = new Map<string, number[]>();
    host.bus.subscribe("chat.out.**", (m) => {
      const list = replies.get(m.from) ?? [];
      list.push((m.data as { n: number }).n);
      replies.set(m.from, list);
    });
    host.bus.publish("chat.in", { n: 1 });
    await until("every bot answers message 1", () => (["bots.a", "bots.b", "bots.c"].every((id) => replies.get(id)?.includes(1)) ? true : undefined));
    const sharedPid = host.status().find((p) => p.id === "bots.a")?.engine?.pid;
    // The host keeps an engine started ahead, where the bystanders will go.
    const sparePid = await until("a spare engine is ready", () => host.spareEngines[0]?.pid);
    assert.notEqual(sparePid, sharedPid);

    const inFlight = host.invoke("bots.a", "slow").then(
      () => null,
      (e: unknown) => e,
    );
    // Sent to the engine before the bomb's call (one ordered channel): in flight when it dies.
    await until("slow() to be running", () => host.status().find((p) => p.id === "bots.a")?.load.running === 1);
    const boom = await host.invoke("bots.bomb", "boom").then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(isWardenError(boom));
    // Node 24's V8 reaches this OOM only after the call's deadline: the engine is then ended by the
    // watchdog or its crash instead (test/helpers/node-line.ts), the same containment and blame.
    assert.ok(hugeAllocationContained(boom), `${boom.code}: ${boom.message}`);
    const lost = await inFlight;
    assert.ok(isWardenError(lost), String(lost));
    assert.equal(lost.code, "ENGINE_RESTARTED");
    assert.match(lost.message, /bots\.bomb/);

    // Back without any call: their onLoad ran again and re-subscribed.
    host.bus.publish("chat.in", { n: 2 });
    await until("every bot answers message 2 with no call in between", () => (["bots.a", "bots.b", "bots.c"].every((id) => replies.get(id)?.includes(2)) ? true : undefined));
    for (const id of ["bots.a", "bots.b", "bots.c"]) assert.deepEqual(replies.get(id), [1, 2], id);
    assert.equal(await host.invoke("bots.b", "ping"), "pong");

    // The bomb runs alone from now on; the bystanders share a new engine.
    assert.equal(await host.invoke("bots.bomb", "ok"), "ok");
    const st = (id: string) => host.status().find((p) => p.id === id);
    assert.notEqual(st("bots.a")?.engine?.pid, sharedPid);
    assert.equal(st("bots.a")?.engine?.pid, st("bots.c")?.engine?.pid);
    assert.equal(st("bots.a")?.engine?.pid, sparePid, "the bystanders moved into the spare engine, which had already booted");
    await until("a new spare is started", () => host.spareEngines.find((e) => e.pid !== sparePid)?.pid);
    assert.equal(st("bots.bomb")?.engine?.dedicated, true);
    assert.notEqual(st("bots.bomb")?.engine?.pid, st("bots.a")?.engine?.pid);

    // Every restart and the move are events and audit records; the bomb was blamed, the others not.
    const restarts = events.filter((e) => e.type === "engine-restart").map((e) => (e as { plugin: string }).plugin);
    assert.deepEqual([...new Set(restarts)].sort(), ["bots.a", "bots.b", "bots.c"]);
    assert.ok(events.some((e) => e.type === "engine-move" && (e as { plugin: string }).plugin === "bots.bomb"));
    const records = audit.lines.map((l) => JSON.parse(l) as { type: string; plugin: string; culprits?: string[] });
    assert.ok(records.some((r) => (r.type === "limit" || r.type === "crash") && r.plugin === "bots.bomb"));
    assert.ok(records.some((r) => r.type === "engine-move" && r.plugin === "bots.bomb"));
    assert.ok(records.filter((r) => r.type === "engine-restart").every((r) => r.culprits?.includes("bots.bomb") && r.plugin !== "bots.bomb"));
    assert.equal(records.filter((r) => (r.type === "limit" || r.type === "crash") && r.plugin !== "bots.bomb").length, 0, "no bystander was blamed");
  });

  it("a granted write made just before the engine died has its audit record (written by the host before the effect)", async () => {
    const err = await host.invoke("bots.writer", "writeThenBoom").then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(isWardenError(err));
    assert.ok(hugeAllocationContained(err), `${err.code}: ${err.message}`);
    const file = join(dir, "writer/out/done.txt");
    assert.ok(existsSync(file));
    assert.equal(readFileSync(file, "utf8"), "written");
    const uses = audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r["type"] === "use" && r["plugin"] === "bots.writer");
    assert.ok(
      uses.some((r) => r["permission"] === "write" && String(r["resolved"] ?? r["value"]).endsWith("out/done.txt")),
      JSON.stringify(uses),
    );
  });
});
