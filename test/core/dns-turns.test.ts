// Name resolutions hold a thread of libuv's pool each (file I/O, crypto and zlib share it) for as
// long as the DNS server takes, and no abort frees it: a plugin fetching names whose server never
// answers must not fill the pool. The host's resolutions run in DEFAULTS.net.lookupsInFlight turns,
// one plugin's in DEFAULTS.net.lookupsPerPlugin; the resolver here answers only when the test says.
import assert from "node:assert/strict";
import type { LookupAddress } from "node:dns";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { DEFAULTS } from "../../defaults/index.ts";
import { createNodeDns } from "../../core/sys/node-net.ts";
import { Turns } from "../../core/sys/turns.ts";

/** A resolver whose answers wait until `answerOne` is called; it counts who is resolving. */
function heldResolver() {
  const waiting: { name: string; answer: () => void }[] = [];
  const started: string[] = [];
  const active = new Map<string, number>();
  let most = 0;
  let mostPerPlugin = 0;
  const resolve = (hostname: string): Promise<readonly LookupAddress[]> => {
    const plugin = hostname.split(".")[1] ?? "";
    started.push(hostname);
    active.set(plugin, (active.get(plugin) ?? 0) + 1);
    most = Math.max(
      most,
      [...active.values()].reduce((a, b) => a + b, 0),
    );
    mostPerPlugin = Math.max(mostPerPlugin, active.get(plugin) ?? 0);
    return new Promise((done) =>
      waiting.push({
        name: hostname,
        answer: () => {
          active.set(plugin, (active.get(plugin) ?? 1) - 1);
          done([{ address: "192.0.2.1", family: 4 }]);
        },
      }),
    );
  };
  return { resolve, waiting, started, most: () => most, mostPerPlugin: () => mostPerPlugin };
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !ok(); i++) await nextTurn();
  assert.ok(ok(), what);
}

describe("name resolutions in turns", () => {
  it("three plugins asking 8, 8 and 1 names that do not answer: the host resolves at most lookupsInFlight at once, a plugin at most lookupsPerPlugin; every name is answered in the end", async () => {
    const r = heldResolver();
    const host = new Turns(DEFAULTS.net.lookupsInFlight);
    const ports = ["a", "b", "c"].map(() => createNodeDns(r.resolve, host));
    const asks: Promise<unknown>[] = [];
    ["a", "b", "c"].forEach((p, i) => {
      for (let n = 0; n < (p === "c" ? 1 : 8); n++) asks.push(ports[i]!.lookup(`n${n}.${p}.example`));
    });
    await until("the first resolutions to start", () => r.waiting.length === DEFAULTS.net.lookupsInFlight);
    for (let i = 0; i < 5; i++) await nextTurn();
    assert.equal(r.waiting.length, DEFAULTS.net.lookupsInFlight, "no more resolutions start while every turn is taken");
    let answered = 0;
    while (answered < asks.length) {
      await until("a resolution to be waiting", () => r.waiting.length > 0);
      r.waiting.shift()!.answer();
      answered++;
    }
    const all = await Promise.all(asks);
    assert.equal(all.length, 17);
    assert.ok(r.most() <= DEFAULTS.net.lookupsInFlight, `${r.most()} resolutions at once`);
    assert.equal(r.mostPerPlugin(), DEFAULTS.net.lookupsPerPlugin);
    // The plugin asking one name was not left behind the 16 of the others: turns go in order of asking.
    assert.ok(r.started.indexOf("n0.c.example") <= DEFAULTS.net.lookupsInFlight, r.started.join(" "));
  });

  it("a resolver that fails hands its turn on", async () => {
    const host = new Turns(1);
    let calls = 0;
    const dns = createNodeDns(() => (++calls === 1 ? Promise.reject(new Error("ENOTFOUND")) : Promise.resolve([{ address: "192.0.2.2", family: 4 }])), host);
    await assert.rejects(dns.lookup("fails.example"));
    assert.deepEqual(await dns.lookup("works.example"), [{ address: "192.0.2.2", family: 4 }]);
  });

  it("positive control: the system resolver answers localhost", async () => {
    const answers = await createNodeDns().lookup("localhost");
    assert.ok(answers.length > 0);
  });
});
