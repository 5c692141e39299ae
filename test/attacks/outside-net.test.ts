// Outside attack suite, network: spellings of the host's own addresses that net.test.ts does not
// list (IPv4-compatible and translated IPv6 forms, the all-zero forms, a trailing dot, case),
// redirects to another port or another spelling, and user info, against the real runtime
// (loadPlugin, the Node DNS and HTTP ports). A listener on every interface counts the requests
// that got through; the positive controls reach it through explicit address rules.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");
const ENTRIES = `export const get = ({ url, redirect }) => fetch(url, redirect ? { redirect } : {}).then(async (r) => ({ status: r.status, url: r.url, text: await r.text() }));`;

describe("outside: network spellings of the host itself", () => {
  let s: Scratch;
  let server: Server;
  let other: Server;
  let port = 0;
  let otherPort = 0;
  let hits = 0;
  let otherHits = 0;
  let open: PluginHandle;
  let named: PluginHandle;

  before(async () => {
    s = scratch();
    server = createServer((req, res) => {
      hits++;
      const m = /^\/to\/(.*)$/.exec(req.url ?? "");
      if (m) {
        res.writeHead(302, { location: decodeURIComponent(m[1] ?? "") });
        res.end();
        return;
      }
      res.end("inside");
    });
    other = createServer((_req, res) => {
      otherHits++;
      res.end("other");
    });
    await new Promise<void>((r) => server.listen(0, "::", r));
    await new Promise<void>((r) => other.listen(0, "::", r));
    port = (server.address() as AddressInfo).port;
    otherPort = (other.address() as AddressInfo).port;
    open = await loadPlugin(s.plugin("open", manifest("t.open", { permissions: { net: true } }), { "index.js": ENTRIES }), { audit: memoryAuditLog(), logger });
    named = await loadPlugin(s.plugin("named", manifest("t.named", { permissions: { net: [`127.0.0.1:${port}`] } }), { "index.js": ENTRIES }), {
      audit: memoryAuditLog(),
      logger,
    });
  });
  after(async () => {
    await open.close();
    await named.close();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => other.close(() => r()));
    s.cleanup();
  });

  it("positive control: an explicit address rule reaches the listener, in another spelling too", async () => {
    const before = hits;
    const r = (await named.invoke("get", { url: `http://127.0.0.1:${port}/` })) as { status: number; text: string };
    assert.equal(r.text, "inside");
    const d = (await named.invoke("get", { url: `http://0x7f000001:${port}/` })) as { status: number; text: string };
    assert.equal(d.text, "inside");
    assert.equal(hits, before + 2);
  });

  it("net: true reaches none of these spellings of the host (each refused or unconnectable, no request arrives)", async () => {
    const urls = [
      `http://[::7f00:1]:${port}/`, // IPv4-compatible ::127.0.0.1 (ipaddr.js calls it unicast)
      `http://[::127.0.0.1]:${port}/`,
      `http://[::ffff:0:7f00:1]:${port}/`, // SIIT rfc6145
      `http://[64:ff9b::7f00:1]:${port}/`, // NAT64
      `http://[2002:7f00:1::]:${port}/`, // 6to4
      `http://[::]:${port}/`,
      `http://[0:0:0:0:0:0:0:1]:${port}/`,
      `http://0:${port}/`,
      `http://0.0.0.0:${port}/`,
      `http://00000000000177.0.0.1:${port}/`,
      `http://127.000.000.001:${port}/`,
      `http://LOCALHOST:${port}/`,
      `http://localhost.:${port}/`,
      `http://ｌｏｃａｌｈｏｓｔ:${port}/`, // fullwidth, mapped by the URL parser
      `http://127.0.0.1.:${port}/`,
    ];
    const outcomes: string[] = [];
    for (const url of urls) {
      const before = hits;
      try {
        const r = (await open.invoke("get", { url })) as { status: number; text: string };
        outcomes.push(`${url}: ANSWERED ${r.status}`);
      } catch (e) {
        outcomes.push(`${url}: ${(e as { code?: string }).code}`);
      }
      assert.equal(hits, before, `${url} reached the host's listener under net: true\n${outcomes.join("\n")}`);
    }
  });

  it("the IPv4-compatible forms (::/96, deprecated) are refused by the bridge itself under net: true, not left to the kernel; a rule for 127.0.0.1 does not cover them", async () => {
    for (const plugin of [open, named]) {
      for (const host of ["[::7f00:1]", "[::127.0.0.1]", "[::a00:1]"]) {
        await assert.rejects(
          plugin.invoke("get", { url: `http://${host}:${port}/` }),
          (e: Error & { code?: string }) => e.code === "PERMISSION_DENIED" && /ipv4Compatible/.test(e.message),
          `${host} is an IPv4-compatible address the bridge must refuse`,
        );
      }
    }
  });

  it("a rule for 127.0.0.1:port does not cover another port, however the redirect spells it", async () => {
    const targets = [`http://127.0.0.1:${otherPort}/`, `http://[::ffff:127.0.0.1]:${otherPort}/`, `http://2130706433:${otherPort}/`, `http://localhost:${port}/`, `http://[::1]:${port}/`];
    for (const t of targets) {
      const before = otherHits;
      await assert.rejects(named.invoke("get", { url: `http://127.0.0.1:${port}/to/${encodeURIComponent(t)}` }), (e: Error & { code?: string }) => e.code === "PERMISSION_DENIED", t);
      assert.equal(otherHits, before, t);
    }
    // Positive control: a redirect within the rule is followed.
    const ok = (await named.invoke("get", { url: `http://127.0.0.1:${port}/to/${encodeURIComponent(`http://2130706433:${port}/done`)}` })) as { text: string; url: string };
    assert.equal(ok.text, "inside");
  });

  it("user info in the URL or in a redirect is refused, never used to pick the host", async () => {
    await assert.rejects(named.invoke("get", { url: `http://127.0.0.1:${port}@127.0.0.1:${otherPort}/` }), (e: Error & { code?: string }) => e.code === "BAD_INPUT" || e.code === "PERMISSION_DENIED");
    const before = otherHits;
    await assert.rejects(named.invoke("get", { url: `http://127.0.0.1:${port}/to/${encodeURIComponent(`http://u:p@127.0.0.1:${otherPort}/`)}` }));
    assert.equal(otherHits, before);
  });
});
