// The example plugins are documentation users run: each must pass `warden check`, work with its
// grants, and the hostile ones must report that every attack was denied.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../core/audit/audit-log.ts";
import { ChannelBus } from "../core/channels/bus.ts";
import { createDefaultLogger } from "../core/logger.ts";
import { loadPlugin } from "../core/plugin.ts";
import { WARDEN_VERSION } from "../core/version.ts";
import { readManifest } from "../manifests/read-manifest.ts";
import { REPO_ROOT } from "./helpers/plugin-dir.ts";

const EXAMPLES = join(REPO_ROOT, "examples/plugins");
const logger = createDefaultLogger("silent");
let service: Server;
let serviceUrl: string;

describe("example plugins", () => {
  before(async () => {
    service = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/redirect") return void res.writeHead(302, { location: url.searchParams.get("to") ?? "/" }).end();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ city: url.searchParams.get("city") }));
    });
    await new Promise<void>((r) => service.listen(0, "127.0.0.1", r));
    serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
  });
  after(() => service.close());

  it("every example manifest is valid", async () => {
    const names = readdirSync(EXAMPLES);
    assert.ok(names.length >= 9);
    for (const name of names) await readManifest(join(EXAMPLES, name), WARDEN_VERSION);
  });

  it("burglar: every bypass is denied and every granted use works (positive controls)", async () => {
    const audit = memoryAuditLog();
    const p = await loadPlugin(join(EXAMPLES, "burglar"), { audit, logger, config: { service: serviceUrl }, bus: new ChannelBus() });
    try {
      const r = (await p.invoke("all")) as { allDenied: boolean; attempts: number; outcome: Record<string, string>; controls: Record<string, unknown> };
      const through = Object.entries(r.outcome).filter(([, v]) => !v.startsWith("denied"));
      assert.deepEqual(through, [], "no attack may get through");
      assert.equal(r.allDenied, true);
      assert.ok(r.attempts >= 25);
      assert.equal(r.controls["read"], "the burglar's own file");
      assert.equal(r.controls["fetch"], "Bergen");
      assert.equal(r.controls["exec"], "hi");
      assert.equal(r.controls["publish"], true);
      const denials = audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((x) => x["type"] === "deny");
      assert.ok(denials.length >= 18, `denials are audited (${denials.length})`);
      for (const d of denials) assert.equal(d["plugin"], "example.burglar");
    } finally {
      await p.close();
    }
  });

  it("the echo bot answers a chat message published by the host", async () => {
    const bus = new ChannelBus();
    const p = await loadPlugin(join(EXAMPLES, "echo-bot"), { audit: memoryAuditLog(), logger, bus });
    try {
      const reply = new Promise((resolve) => bus.subscribe("chat.reply", (m) => resolve(m)));
      bus.publish("chat.message", { text: "hi" });
      assert.deepEqual(await reply, { topic: "chat.reply", from: "example.echo-bot", dropped: 0, data: { to: "host", text: '[v1.0.0] you said "hi" (2 characters)' } });
    } finally {
      await p.close();
    }
  });

  it("wordcount, written in TypeScript, runs without a build step; an unknown file is NotFound", async () => {
    const p = await loadPlugin(join(EXAMPLES, "wordcount"), { audit: memoryAuditLog(), logger });
    try {
      assert.deepEqual(await p.invoke("files"), ["warden.txt"]);
      const r = (await p.invoke("count", { file: "warden.txt", top: 2 })) as { words: number; distinct: number; top: [string, number][]; caller: string };
      assert.equal(r.words, 33);
      assert.deepEqual(r.top, [
        ["a", 4],
        ["nothing", 3],
      ]);
      assert.equal(r.caller, "host");
      await assert.rejects(p.invoke("count", { file: "missing.txt" }), /NotFound: Warden.fs.readTextFile\(\): "data\/missing.txt": no such file/);
    } finally {
      await p.close();
    }
  });
});
