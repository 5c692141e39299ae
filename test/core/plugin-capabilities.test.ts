// The whole path, as a plugin author sees it: plugin code in its isolate, in its sandbox process,
// calling every Warden API and fetch, with denials arriving as PermissionDenied errors and two
// plugins and the host talking over one channel bus.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { ChannelMessage } from "../../capabilities/index.ts";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { ChannelBus } from "../../core/channels/bus.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

let s: Scratch;
let server: Server;
let port: number;
let kitchen: PluginHandle;
let speaker: PluginHandle;
const bus = new ChannelBus();
const audit = memoryAuditLog();
const logger = createDefaultLogger("silent");

const kitchenSource = `
export async function onLoad() {
  await Warden.channels.subscribe("e2e.in", async (msg) => {
    await Warden.channels.publish("e2e.out", { echo: msg.data, from: msg.from, topic: msg.topic, dropped: msg.dropped });
  });
}
export async function files() {
  await Warden.fs.mkdir("data/sub", { recursive: true });
  await Warden.fs.writeTextFile("data/sub/a.txt", "alpha");
  await Warden.fs.writeTextFile("data/sub/a.txt", "+beta", { append: true });
  const text = await Warden.fs.readTextFile("data/sub/a.txt");
  const listing = (await Warden.fs.readDir("data/sub")).map((e) => e.name);
  const st = await Warden.fs.stat("data/sub/a.txt");
  await Warden.fs.remove("data/sub", { recursive: true });
  let gone;
  try { await Warden.fs.stat("data/sub"); gone = false; } catch (e) { gone = e.code; }
  return { text, listing, size: st.size, isFile: st.isFile, gone };
}
export async function web(url) {
  const r = await fetch(url, { method: "POST", headers: { "x-token": "t1" }, body: JSON.stringify({ a: 1 }) });
  const headers = new Headers(r.headers);
  return { status: r.status, ok: r.ok, type: headers.get("content-type"), json: await r.json(), url: r.url, redirected: r.redirected, used: r.bodyUsed };
}
export async function webBytes(url) {
  const r = await fetch(new URL(url));
  return [...new Uint8Array(await r.arrayBuffer())];
}
export async function attempt(kind) {
  const tries = {
    fetchDecimal: () => fetch("http://2130706434:${"${"}PORT}/"),
    fetchMeta: () => fetch("http://169.254.169.254/latest/meta-data/"),
    exec: () => Warden.exec("sh", ["-c", "id"]),
    env: () => Warden.env.get("HOME"),
    write: () => Warden.fs.writeTextFile("/tmp/warden-e2e-planted", "x"),
    publish: () => Warden.channels.publish("chat.secret", {}),
    subscribe: () => Warden.channels.subscribe("**", () => {}),
  };
  try { await tries[kind](); return "ALLOWED"; } catch (e) { return { name: e.name, code: e.code, message: e.message }; }
}
export async function run() {
  return Warden.exec("echo", ["$(id)", "; ls"]);
}
export async function env() {
  return { x: await Warden.env.get("WARDEN_E2E_X"), unsetIsUndefined: (await Warden.env.get("WARDEN_E2E_UNSET")) === undefined };
}
export async function forge() {
  return Warden.channels.publish("e2e.out", { from: "other.plugin", note: "forged" });
}
export async function query() {
  return Promise.all([
    Warden.permissions.query({ name: "net", host: "127.0.0.1:${"${"}PORT}" }),
    Warden.permissions.query({ name: "exec", command: "echo" }),
    Warden.permissions.query({ name: "env", variable: "WARDEN_E2E_X" }),
    Warden.permissions.query({ name: "channels", topic: "e2e.in", direction: "subscribe" }),
    Warden.permissions.query({ name: "channels", topic: "e2e.in", direction: "publish" }),
    Warden.permissions.query({ name: "write", path: "data/x" }),
  ]);
}
`;

const speakerSource = `
export async function say(text) { return Warden.channels.publish("e2e.in", { text }); }
`;

function nextOut(pred: (m: ChannelMessage) => boolean = () => true): Promise<ChannelMessage> {
  return new Promise((resolve) => {
    const sub = bus.subscribe("e2e.out", (m) => {
      if (!pred(m)) return;
      sub.unsubscribe();
      resolve(m);
    });
  });
}

describe("every capability from inside a plugin", () => {
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/bytes") return void res.end(Buffer.from([1, 2, 255]));
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ method: req.method, token: req.headers["x-token"] ?? null, body }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
    process.env["WARDEN_E2E_X"] = "from the host env";
    s = scratch();
    const kdir = s.plugin(
      "kitchen",
      manifest("test.kitchen", {
        permissions: {
          read: ["data/"],
          write: ["data/"],
          net: [`127.0.0.1:${port}`],
          exec: ["echo"],
          env: ["WARDEN_E2E_*"],
          channels: { publish: ["e2e.out"], subscribe: ["e2e.in"] },
        },
      }),
      { "index.js": kitchenSource.replaceAll("${PORT}", String(port)), "data/.keep": "" },
    );
    const sdir = s.plugin("speaker", manifest("test.speaker", { permissions: { channels: { publish: ["e2e.in"] } } }), { "index.js": speakerSource });
    kitchen = await loadPlugin(kdir, { audit, logger, bus });
    speaker = await loadPlugin(sdir, { audit, logger, bus });
  });
  after(async () => {
    await kitchen?.close();
    await speaker?.close();
    server.closeAllConnections();
    server.close();
    s.cleanup();
  });

  it("fs: write, append, read, list, stat, remove", async () => {
    assert.deepEqual(await kitchen.invoke("files"), { text: "alpha+beta", listing: ["a.txt"], size: 10, isFile: true, gone: "NotFound" });
  });

  it("fetch: Request options go out; Response gives status, headers, json, bytes", async () => {
    const r = (await kitchen.invoke("web", `http://127.0.0.1:${port}/echo`)) as Record<string, unknown>;
    assert.deepEqual(r, {
      status: 200,
      ok: true,
      type: "application/json",
      json: { method: "POST", token: "t1", body: '{"a":1}' },
      url: `http://127.0.0.1:${port}/echo`,
      redirected: false,
      used: true,
    });
    assert.deepEqual(await kitchen.invoke("webBytes", `http://127.0.0.1:${port}/bytes`), [1, 2, 255]);
  });

  it("exec and env work with their grants", async () => {
    assert.deepEqual(await kitchen.invoke("run"), { code: 0, signal: null, stdout: "$(id) ; ls\n", stderr: "" });
    assert.deepEqual(await kitchen.invoke("env"), { x: "from the host env", unsetIsUndefined: true });
  });

  it("every ungranted use is a PermissionDenied error inside the plugin, and audited", async () => {
    for (const kind of ["fetchDecimal", "fetchMeta", "exec", "env", "write", "publish", "subscribe"]) {
      const r = (await kitchen.invoke("attempt", kind)) as { name: string; code: string; message: string };
      assert.equal(r.code, "PERMISSION_DENIED", `${kind}: ${JSON.stringify(r)}`);
      assert.equal(r.name, "PermissionDenied");
      assert.match(r.message, /plugin\.json of test\.kitchen/);
    }
    const records = audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const denials = records.filter((r) => r["type"] === "deny" && r["plugin"] === "test.kitchen");
    assert.deepEqual([...new Set(denials.map((r) => r["permission"]))].sort(), ["channels.publish", "channels.subscribe", "env", "exec", "net", "write"]);
  });

  it("channels: the host and another plugin publish, the subscriber's handler runs, and every sender is stamped by the host", async () => {
    const fromHost = nextOut((m) => (m.data as { echo: { n?: number } }).echo.n === 1);
    assert.equal(bus.publish("e2e.in", { n: 1 }), 1);
    const m1 = await fromHost;
    assert.deepEqual(m1, { topic: "e2e.out", from: "test.kitchen", dropped: 0, data: { echo: { n: 1 }, from: "host", topic: "e2e.in", dropped: 0 } });

    const fromSpeaker = nextOut((m) => (m.data as { echo: { text?: string } }).echo.text === "hi");
    assert.deepEqual(await speaker.invoke("say", "hi"), { delivered: 1 });
    assert.equal(((await fromSpeaker).data as { from: string }).from, "test.speaker");
  });

  it("a plugin cannot forge the sender: `from` in the payload stays payload", async () => {
    const got = nextOut((m) => (m.data as { note?: string }).note === "forged");
    await kitchen.invoke("forge");
    const m = await got;
    assert.equal(m.from, "test.kitchen");
  });

  it("permissions.query explains every kind with the rule and where it is", async () => {
    assert.deepEqual(await kitchen.invoke("query"), [
      { state: "granted", rule: `127.0.0.1:${port}`, source: "permissions.net[0]" },
      { state: "granted", rule: "echo", source: "permissions.exec[0]" },
      { state: "granted", rule: "WARDEN_E2E_*", source: "permissions.env[0]" },
      { state: "granted", rule: "e2e.in", source: "permissions.channels.subscribe[0]" },
      { state: "denied" },
      { state: "granted", rule: "data/", source: "permissions.write[0]" },
    ]);
  });

  it("closing a plugin removes its subscriptions from the bus", async () => {
    const before = bus.size;
    await speaker.close();
    assert.equal(bus.size, before, "the speaker had none");
    await kitchen.close();
    assert.equal(bus.size, before - 1);
  });
});
