// Outside attacker: a plugin with env, channel and no other grants, through the real host. It
// reads environment variables whose names are Object.prototype's (process.env inherits them), tries
// the neighbours of its granted names, looks for an existence oracle in denials, forges senders in
// plugin-to-plugin messages, subscribes where it may only publish, asks permission queries about
// what it was not granted (files, commands, other plugins) and tries to widen its own grants. Next
// to it, the manifest grants that cover more than they look to the operator approving them. Each
// attack has its legitimate neighbour, so a runtime that refused everything would fail too.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createHost, type Host } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { describeGrants, permissionGrowth, validateManifest } from "../../manifests/index.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";
import { DEFAULTS } from "../../defaults/index.ts";

const logger = createDefaultLogger("silent");

/** Runs `f` inside a plugin and returns `{ ok }` or `{ code, message }`: what the attacker sees. */
const TRY = `const attempt = async (f) => { try { const v = await f(); return { ok: v === undefined ? "undefined" : typeof v === "function" || typeof v === "symbol" ? typeof v : v }; } catch (e) { return { code: e.code, name: e.name, message: String(e.message) }; } };`;

type Outcome = { ok?: unknown; code?: string; name?: string; message?: string };

/** The names process.env answers without holding them: Object.prototype's. */
const PROTOTYPE_NAMES = ["constructor", "toString", "valueOf", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString", "__proto__", "__defineGetter__", "__lookupSetter__"];

const ENV_SOURCE = `${TRY}
export const get = (name) => attempt(() => Warden.env.get(name));
export const oddNames = () => Promise.all([42, null, ["WARDEN_CE_KEY"], { toString: () => "WARDEN_CE_KEY" }, { [Symbol.toPrimitive]: () => "WARDEN_CE_KEY" }].map((n) => attempt(() => Warden.env.get(n))));
export const query = (d) => attempt(() => Warden.permissions.query(d));
export const shape = () => ({ env: Object.getOwnPropertyNames(Warden.env).sort(), warden: Object.getOwnPropertyNames(Warden).sort() });
export async function widen() {
  const tries = [];
  const t = (f) => { try { f(); tries.push("changed"); } catch (e) { tries.push(e.name); } };
  t(() => { Warden.plugin.permissions.env = true; });
  t(() => { Warden.plugin.permissions.env.push("SECRET_*"); });
  t(() => { Object.defineProperty(Warden, "plugin", { value: { permissions: { env: true } } }); });
  t(() => { Warden.permissions.query = async () => ({ state: "granted" }); });
  return { tries, after: await attempt(() => Warden.env.get("WARDEN_CE_SECRET")) };
}`;

for (const isolation of ["engine", "in-process"] as const)
  describe(`outside: environment variables from inside a plugin (isolation ${isolation})`, () => {
    let s: Scratch;
    let host: Host;
    before(async () => {
      s = scratch();
      const names = ["WARDEN_CE_KEY", "_*", "con*", "toString", "valueOf", "hasOwnProperty", "WARDEN_CE_APP_*"];
      s.plugin("env", manifest("t.env", { permissions: { env: names } }), { "index.js": ENV_SOURCE });
      s.plugin("all", manifest("t.all", { permissions: { env: true } }), { "index.js": ENV_SOURCE });
      process.env["WARDEN_CE_KEY"] = "key-value";
      process.env["WARDEN_CE_APP_MODE"] = "dev";
      process.env["WARDEN_CE_SECRET"] = "s3cret";
      host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0, isolation });
      await host.loadAll();
    });
    after(async () => {
      await host.close();
      s.cleanup();
      for (const k of ["WARDEN_CE_KEY", "WARDEN_CE_APP_MODE", "WARDEN_CE_SECRET"]) delete process.env[k];
    });
    const get = (id: string, name: unknown) => host.invoke(id, "get", name) as Promise<Outcome>;

    it("positive control: granted names (exact and by prefix) read their value, a granted unset one is undefined", async () => {
      assert.deepEqual(await get("t.env", "WARDEN_CE_KEY"), { ok: "key-value" });
      assert.deepEqual(await get("t.env", "WARDEN_CE_APP_MODE"), { ok: "dev" });
      assert.deepEqual(await get("t.env", "WARDEN_CE_APP_UNSET"), { ok: "undefined" });
      assert.deepEqual(await get("t.all", "WARDEN_CE_SECRET"), { ok: "s3cret" });
      assert.equal((await get("t.env", "WARDEN_CE_SECRET")).code, "PERMISSION_DENIED");
    });

    it("names process.env inherits from Object.prototype read as unset variables, never as a host value", async () => {
      const wrong: string[] = [];
      for (const id of ["t.env", "t.all"]) {
        for (const name of PROTOTYPE_NAMES) {
          const r = await get(id, name);
          // Granted (t.all; t.env by "_*", "con*" or exactly): unset, so undefined. Not granted: denied.
          if (r.ok !== "undefined" && r.code !== "PERMISSION_DENIED") wrong.push(`${id} ${name}: ${JSON.stringify(r).slice(0, 200)}`);
        }
      }
      assert.deepEqual(wrong, []);
      // The granted ones really were granted (so the test above met process.env's inherited names).
      for (const name of ["constructor", "toString", "__proto__"]) assert.deepEqual(await get("t.env", name), { ok: "undefined" }, name);
      // A variable of that name that is set is read as any other.
      process.env["toString"] = "set-for-real";
      try {
        assert.deepEqual(await get("t.env", "toString"), { ok: "set-for-real" });
      } finally {
        delete process.env["toString"];
      }
    });

    it("neighbours of a granted name (case, =, NUL, look-alikes, full-width, zero-width, spaces, wildcards) never read it", async () => {
      const neighbours = [
        "warden_ce_key",
        "Warden_Ce_Key",
        "WARDEN_CE_KEY=",
        "WARDEN_CE_KEY=x",
        "=WARDEN_CE_KEY",
        "WARDEN_CE_KEY\u0000",
        "WARDEN_CE_KEY\u0000X",
        "WARDEN_CE_KEY ",
        " WARDEN_CE_KEY",
        "WARDEN_CE_KEY\n",
        "WARDEN_CE_KEY\u200b",
        "\u200bWARDEN_CE_KEY",
        "WARDEN_CE_ＫEY",
        "WARDEN_CE_KЕY",
        "WARDEN_CE_KEY*",
        "WARDEN_CE_*",
        "WARDEN_CE_K*",
        "*",
        "WARDEN_CE_KE",
        "WARDEN_CE_KEYS",
        "WARDEN_CE_SECRET",
        "WARDEN_CE_APP",
        "WARDEN_CE_AP_MODE",
        "wARDEN_CE_APP_MODE",
        "",
      ];
      for (const name of neighbours) {
        const r = await get("t.env", name);
        assert.ok(r.code === "PERMISSION_DENIED" || r.code === "BAD_INPUT", `${JSON.stringify(name)}: ${JSON.stringify(r).slice(0, 300)}`);
      }
      for (const r of (await host.invoke("t.env", "oddNames")) as Outcome[]) assert.equal(r.code, "BAD_INPUT", JSON.stringify(r).slice(0, 300));
    });

    it("a denial says the same of a set and an unset variable (no existence oracle), and there is no listing", async () => {
      const set = await get("t.env", "WARDEN_CE_SECRET");
      const unset = await get("t.env", "WARDEN_CE_NEVER_SET");
      assert.equal(set.code, "PERMISSION_DENIED");
      assert.equal(unset.code, set.code);
      assert.equal(String(unset.message).replaceAll("WARDEN_CE_NEVER_SET", "X"), String(set.message).replaceAll("WARDEN_CE_SECRET", "X"));
      const q = (variable: string) => host.invoke("t.env", "query", { name: "env", variable }) as Promise<Outcome>;
      assert.deepEqual(await q("WARDEN_CE_SECRET"), await q("WARDEN_CE_NEVER_SET"));
      assert.deepEqual(await q("WARDEN_CE_SECRET"), { ok: { state: "denied" } });
      assert.deepEqual(await q("WARDEN_CE_KEY"), { ok: { state: "granted", rule: "WARDEN_CE_KEY", source: "permissions.env[0]" } });
      assert.deepEqual(((await host.invoke("t.env", "shape")) as { env: string[] }).env, ["get"]);
    });

    it("a plugin cannot widen its own grants from inside: Warden.plugin and Warden are frozen, and the host decides", async () => {
      const r = (await host.invoke("t.env", "widen")) as { tries: string[]; after: Outcome };
      assert.deepEqual(r.tries, ["TypeError", "TypeError", "TypeError", "TypeError"]);
      assert.equal(r.after.code, "PERMISSION_DENIED");
    });
  });

describe("outside: channel messages between plugins", () => {
  let s: Scratch;
  let host: Host;
  before(async () => {
    s = scratch();
    s.plugin("talker", manifest("t.talker", { permissions: { channels: { publish: ["room.a", "room.b"], subscribe: ["room.back"] } } }), {
      "index.js": `${TRY}
const got = [];
export const publish = ({ topic, data, extra }) => attempt(() => Warden.channels.publish(topic, data, extra));
export const subscribe = ({ pattern }) => attempt(async () => { await Warden.channels.subscribe(pattern, (m) => { got.push(m); }); return true; });
export const received = () => got;`,
    });
    s.plugin("listener", manifest("t.listener", { permissions: { channels: { subscribe: ["room.*"], publish: ["room.back"] } } }), {
      "index.js": `const got = [];
export async function onLoad() { await Warden.channels.subscribe("room.*", (m) => { got.push(m); }); }
export const received = () => got;
export const answer = () => Warden.channels.publish("room.back", { to: "t.talker" });`,
    });
    host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0 });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });
  const invoke = (id: string, entry: string, input?: unknown) => host.invoke(id, entry, input) as Promise<Outcome>;

  it("a message names its real sender, whatever the payload or extra arguments claim (positive control: it arrives)", async () => {
    const forged = { from: "host", topic: "admin.secret", dropped: 99, sender: "t.listener" };
    assert.deepEqual(await invoke("t.talker", "publish", { topic: "room.a", data: forged, extra: { from: "host", topic: "room.b" } }), { ok: { delivered: 1 } });
    await until("the listener got the message", async () => ((await host.invoke("t.listener", "received")) as unknown[]).length >= 1);
    assert.deepEqual(await host.invoke("t.listener", "received"), [{ topic: "room.a", data: forged, from: "t.talker", dropped: 0 }]);
  });

  it("Unicode neighbours of a granted topic (full-width and ideographic dots, zero-width characters, combining marks, NFD, tabs) are refused on publish and subscribe", async () => {
    const neighbours = [
      "room．a",
      "room。a",
      "room\u200b.a",
      "room.a\u200d",
      "\ufeffroom.a",
      "room.a\u0301",
      "room.\u0061\u0301",
      "room.á",
      "room.a\t",
      "room\t.a",
      "ｒoom.a",
      "room.ａ",
      "room.a\u00a0",
      "room\u2024a",
    ];
    for (const topic of neighbours) {
      const r = await invoke("t.talker", "publish", { topic, data: {} });
      assert.equal(r.code, "BAD_INPUT", `publish ${JSON.stringify(topic)}: ${JSON.stringify(r)}`);
      const sub = await invoke("t.talker", "subscribe", { pattern: topic });
      assert.equal(sub.code, "BAD_INPUT", `subscribe ${JSON.stringify(topic)}: ${JSON.stringify(sub)}`);
    }
    // Positive control: the granted spelling publishes.
    assert.deepEqual(await invoke("t.talker", "publish", { topic: "room.b", data: {} }), { ok: { delivered: 1 } });
  });

  it("a publish grant does not let a plugin receive on that topic; a subscribe grant does not let it publish there", async () => {
    for (const pattern of ["room.a", "room.*", "room.**", "room.b"]) {
      const r = await invoke("t.talker", "subscribe", { pattern });
      assert.equal(r.code, "PERMISSION_DENIED", `${pattern}: ${JSON.stringify(r)}`);
    }
    assert.equal((await invoke("t.talker", "publish", { topic: "room.back", data: {} })).code, "PERMISSION_DENIED");
    // Positive control: its subscribe grant works, and an answer reaches it stamped with the listener's id.
    assert.deepEqual(await invoke("t.talker", "subscribe", { pattern: "room.back" }), { ok: true });
    await host.invoke("t.listener", "answer");
    await until("the talker got the answer", async () => ((await host.invoke("t.talker", "received")) as unknown[]).length >= 1);
    assert.deepEqual(await host.invoke("t.talker", "received"), [{ topic: "room.back", data: { to: "t.talker" }, from: "t.listener", dropped: 0 }]);
  });
});

describe("outside: two plugins whose handlers publish to each other, each message doubling", () => {
  it("the loop is bounded (rate, turns, queues) and a bystander subscriber still gets its messages; unloading one side ends it", async () => {
    const s = scratch();
    const side = (me: string, them: string) => `let handled = 0, now = 0, most = 0;
export async function onLoad() {
  await Warden.channels.subscribe("${me}.t", async () => {
    handled++; most = Math.max(most, ++now);
    try { for (let j = 0; j < 2; j++) Warden.channels.publish("${them}.t", {}).catch(() => {}); await new Promise((r) => setTimeout(r, 1)); } finally { now--; }
  });
}
export const kick = () => Warden.channels.publish("${them}.t", {});
export const seen = () => ({ handled, most });`;
    s.plugin("ping", manifest("t.ping", { permissions: { channels: { publish: ["pong.t"], subscribe: ["ping.t"] } } }), { "index.js": side("ping", "pong") });
    s.plugin("pong", manifest("t.pong", { permissions: { channels: { publish: ["ping.t"], subscribe: ["pong.t"] } } }), { "index.js": side("pong", "ping") });
    s.plugin("bystander", manifest("t.bystander", { permissions: { channels: { subscribe: ["news.t"] } } }), {
      "index.js": `const got = []; export async function onLoad() { await Warden.channels.subscribe("news.t", (m) => { got.push(m.data); }); } export const received = () => got;`,
    });
    const host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      await host.invoke("t.ping", "kick");
      await until(
        "both sides to have handled 200 messages",
        async () => {
          const [a, b] = (await Promise.all([host.invoke("t.ping", "seen"), host.invoke("t.pong", "seen")])) as Array<{ handled: number }>;
          return (a?.handled ?? 0) >= 200 && (b?.handled ?? 0) >= 200;
        },
        60_000,
      );
      // The loop goes on; the bystander's message still arrives, and the bus holds a bounded amount.
      for (let i = 0; i < 5; i++) host.bus.publish("news.t", i);
      await until("the bystander got its 5 messages", async () => ((await host.invoke("t.bystander", "received")) as unknown[]).length === 5, 60_000);
      assert.deepEqual(await host.invoke("t.bystander", "received"), [0, 1, 2, 3, 4]);
      assert.ok(host.bus.queuedBytes <= 3 * DEFAULTS.channels.ownerQueueBytes, `${host.bus.queuedBytes} bytes queued`);
      for (const id of ["t.ping", "t.pong"]) {
        const { most } = (await host.invoke(id, "seen")) as { most: number };
        assert.ok(most >= 1 && most <= DEFAULTS.channels.deliveriesInFlight, `${id}: ${most} handlers at once`);
      }
      await host.unload("t.ping");
      assert.equal(host.bus.subscriptionsOf("t.ping"), 0);
      assert.equal(host.bus.publish("ping.t", {}), 0, "no one listens on ping.t any more");
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("outside: permission queries about what a plugin was not granted", () => {
  let s: Scratch;
  let host: Host;
  before(async () => {
    s = scratch();
    s.plugin(
      "asker",
      manifest("t.asker", { permissions: { read: ["data/"], exec: ["ls"], plugins: ["t.friend"], net: ["api.example.org"] } }),
      { "index.js": ENV_SOURCE, "data/x.txt": "x" },
      { "data/etc": "/etc" },
    );
    s.plugin("friend", manifest("t.friend"), { "index.js": "export const x = () => 1;" });
    s.plugin("stranger", manifest("t.stranger"), { "index.js": "export const x = () => 1;" });
    host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0 });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });
  const q = (d: object) => host.invoke("t.asker", "query", d) as Promise<Outcome>;
  const denied = { ok: { state: "denied" } };

  it("positive control: what is granted is answered granted", async () => {
    assert.equal(((await q({ name: "read", path: "data/x.txt" })).ok as { state: string }).state, "granted");
    assert.equal(((await q({ name: "plugins", id: "t.friend" })).ok as { state: string }).state, "granted");
    assert.equal(((await q({ name: "exec", command: "ls" })).ok as { state: string }).state, "granted");
    assert.equal(((await q({ name: "net", host: "api.example.org" })).ok as { state: string }).state, "granted");
  });

  it("the answer is the same for what exists and what does not: files, files through a link out of the grant, commands, plugins, hosts", async () => {
    const pairs: Array<[object, object]> = [
      [
        { name: "read", path: "/etc/passwd" },
        { name: "read", path: "/etc/no-such-file-here" },
      ],
      [
        { name: "read", path: "data/etc/passwd" },
        { name: "read", path: "data/etc/no-such-file-here" },
      ],
      [
        { name: "write", path: "data/x.txt" },
        { name: "write", path: "data/none.txt" },
      ],
      [
        { name: "exec", command: "cat" },
        { name: "exec", command: "no-such-command-here" },
      ],
      [
        { name: "exec", command: "/bin/cat" },
        { name: "exec", command: "/bin/no-such-command-here" },
      ],
      [
        { name: "plugins", id: "t.stranger" },
        { name: "plugins", id: "t.not-installed" },
      ],
      [
        { name: "net", host: "localhost" },
        { name: "net", host: "no-such-host.invalid" },
      ],
    ];
    for (const [exists, missing] of pairs) {
      assert.deepEqual(await q(exists), denied, JSON.stringify(exists));
      assert.deepEqual(await q(missing), denied, JSON.stringify(missing));
    }
  });

  it("a malformed descriptor is BAD_INPUT, never granted: prototype names, extra keys, a wrong direction", async () => {
    const bad = [
      { name: "constructor" },
      { name: "__proto__" },
      { name: "toString" },
      { name: "READ", path: "data/x.txt" },
      { name: "read", path: "data/x.txt", grant: true },
      { name: "channels", topic: "room.a" },
      { name: "channels", topic: "room.a", direction: "both" },
      { name: "env", variable: "A=B" },
      { name: "env", variable: "A\u0000" },
    ];
    for (const d of bad) {
      const r = await q(d);
      assert.equal(r.code, "BAD_INPUT", `${JSON.stringify(d)}: ${JSON.stringify(r)}`);
    }
  });
});

describe("outside: manifest grants wider than they look to the operator approving them", () => {
  const warningsOf = (permissions: object) => {
    const r = validateManifest(manifest("t.wide", { permissions }), "0.1.0");
    assert.ok(r.ok, JSON.stringify(r));
    return r.warnings.map((w) => `${w.field}: ${w.message}`);
  };
  const coversOf = (permissions: object) => {
    const r = validateManifest(manifest("t.wide", { permissions }), "0.1.0");
    assert.ok(r.ok, JSON.stringify(r));
    return describeGrants(r.manifest, "/plugins/wide").map((g) => `${g.source} ${g.rule}: ${g.covers}`);
  };

  it("positive control: topics inside a namespace and env prefixes ending at _ raise no warning", () => {
    assert.deepEqual(warningsOf({ channels: { publish: ["chat.out", "chat.*"], subscribe: ["news.**", "news.*.en"] }, env: ["APP_*", "API_KEY"] }), []);
  });

  it("a channel grant whose first segment is a wildcard spans every namespace (the host's and other plugins'): warned, and described as such", () => {
    for (const rule of ["**", "*", "*.*", "*.**", "*.in", "*.*.*"]) {
      for (const dir of ["publish", "subscribe"] as const) {
        const w = warningsOf({ channels: { [dir]: ["chat.out", "news.*", "a.b", "c.d", rule] } });
        assert.ok(
          w.some((x) => x.startsWith(`permissions.channels.${dir}[4]: `)),
          `${dir} ${rule}: ${JSON.stringify(w)}`,
        );
      }
    }
    const covers = coversOf({ channels: { subscribe: ["**", "*.**", "*", "*.in", "chat.**"] } });
    assert.deepEqual(covers, [
      "permissions.channels.subscribe[0] **: every topic",
      "permissions.channels.subscribe[1] *.**: every topic of 2 or more segments",
      "permissions.channels.subscribe[2] *: every topic of 1 segment",
      "permissions.channels.subscribe[3] *.in: topics matching *.in in every namespace (* is one segment)",
      "permissions.channels.subscribe[4] chat.**: topics under chat.",
    ]);
  });

  it("an update that adds such a grant says what it covers in the growth the operator approves (positive control: a namespaced one reads as written)", () => {
    const parse = (permissions: object) => {
      const r = validateManifest(manifest("t.wide", { permissions }), "0.1.0");
      assert.ok(r.ok, JSON.stringify(r));
      return r.manifest;
    };
    const before = parse({ channels: { subscribe: ["chat.in"] }, env: ["APP_KEY"] });
    const after = parse({ channels: { subscribe: ["chat.in", "news.*", "**"] }, env: ["APP_KEY", "APP_*", "A*"] });
    assert.deepEqual(permissionGrowth(before, after, { dir: "/plugins/wide" }), [
      'permissions.env[1] "APP_*" is new',
      'permissions.env[2] "A*" (that is "variables whose names start with A") is new',
      'permissions.channels.subscribe[1] "news.*" is new',
      'permissions.channels.subscribe[2] "**" (that is "every topic") is new',
    ]);
  });

  it("warden check and warden grants ls, which the operator reads before approving, say it too (positive control: a namespaced grant is shown bare)", () => {
    const s = scratch();
    try {
      s.plugin("wide", manifest("t.wide", { permissions: { channels: { publish: ["chat.out"], subscribe: ["chat.in", "news.*", "a.b", "c.d", "**"] }, env: ["APP_*", "A*"] } }), {
        "index.js": "export const x = () => 1;",
      });
      const run = (...args: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, "bin/warden.js"), ...args], { encoding: "utf8", cwd: s.root });
      const check = run("check", "wide");
      assert.equal(check.status, 0, check.stderr);
      assert.match(check.stdout, /^warning: .*permissions\.channels\.subscribe\[4\].*"\*\*" grants subscribe on every topic/m);
      assert.match(check.stdout, /^warning: .*permissions\.env\[1\].*"A\*" covers every variable whose name starts with "A"/m);
      assert.match(check.stdout, /^subscribe +\*\* +permissions\.channels\.subscribe\[4\] +every topic$/m);
      const ls = run("grants", "ls", "--plugins-dir", s.root);
      assert.equal(ls.status, 0, ls.stderr);
      assert.match(ls.stdout, /^ {2}channels\.subscribe: chat\.in, news\.\*, a\.b, c\.d, \*\* \(every topic\)$/m);
      assert.match(ls.stdout, /^ {2}channels\.publish: chat\.out$/m);
      assert.match(ls.stdout, /^ {2}env: APP_\*, A\* \(variables whose names start with A\)$/m);
    } finally {
      s.cleanup();
    }
  });

  it("a grant longer than any name or topic a call accepts (so it would cover nothing the operator approved) is refused; one at the bound is valid", () => {
    const env = DEFAULTS.values.envNameChars;
    const topic = DEFAULTS.values.topicChars;
    const valid = (permissions: object) => validateManifest(manifest("t.long", { permissions }), "0.1.0");
    assert.ok(valid({ env: ["A".repeat(env)], channels: { publish: [`a.${"b".repeat(topic - 2)}`], subscribe: [`a.${"b".repeat(topic - 5)}.**`] } }).ok);
    for (const permissions of [
      { env: ["A".repeat(env + 1)] },
      { env: [`${"A".repeat(env)}*`] },
      { channels: { publish: [`a.${"b".repeat(topic - 1)}`] } },
      { channels: { subscribe: [`a.${"b".repeat(topic - 4)}.**`] } },
    ]) {
      const r = valid(permissions);
      assert.ok(!r.ok && r.problems.some((p) => /must be at most 256 characters/.test(p.message)), JSON.stringify(r).slice(0, 300));
    }
  });

  it("an env prefix that does not end at _ covers other families of names (A* covers AWS_SECRET_ACCESS_KEY): warned", () => {
    for (const rule of ["A*", "AWS*", "_*", "S*", "SECRET*"]) {
      const w = warningsOf({ env: ["API_KEY", rule] });
      assert.ok(
        w.some((x) => x.startsWith("permissions.env[1]: ")),
        `${rule}: ${JSON.stringify(w)}`,
      );
    }
  });
});
