// Outside attacker: any web page the operator visits. A loopback console refuses foreign Host
// names (DNS rebinding) and never accepts a token in the query string, but it COUNTS a query-string
// "token" as a failed attempt of the caller's address. A cross-site page can make exactly that
// request (a no-cors GET to http://127.0.0.1:7700/api/plugins?token=x carries Host 127.0.0.1 and
// needs no preflight), and the operator's dashboard shares 127.0.0.1 with the browser: ten such
// requests lock the operator out of the console for a minute, the right token included, again
// and again. A query-string token guesses nothing (it is never accepted), so counting it protects
// nothing and hands any web page a switch to turn the console off.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { createConsoleServer } from "../../core/console/console-server.ts";
import { createHost, type Host } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");
const TOKEN = "k".repeat(43);
const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"];

/** What a cross-site page's `fetch(url, { mode: "no-cors" })` sends: no Authorization, an Origin, Sec-Fetch-Site. */
const BROWSER_CROSS_SITE = { origin: "https://evil.example", "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors" };

describe("outside: a cross-site page locks the operator out of a loopback console", () => {
  let s: Scratch;
  let host: Host;

  before(async () => {
    s = scratch();
    const plugins = join(s.root, "plugins");
    mkdirSync(plugins);
    s.plugin(join("plugins", "good"), manifest("test.good"), { "index.js": "export const hi = () => 'hi';" });
    host = await createHost({ pluginsDir: plugins, logger, healthIntervalMs: 0 });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  async function serve(): Promise<{ app: FastifyInstance; base: string }> {
    const app = createConsoleServer({ host, pluginsDir: join(s.root, "plugins"), auditLogFile: join(s.root, "audit.jsonl"), token: TOKEN, allowedHosts: LOOPBACK_NAMES });
    await app.listen({ host: "127.0.0.1", port: 0 });
    return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
  }
  const operator = (base: string) => fetch(`${base}/api/plugins`, { headers: { authorization: `Bearer ${TOKEN}` } });

  it("positive control: ten wrong tokens in the Authorization header (which a cross-site page cannot send without a preflight) still lock the address out", async () => {
    const { app, base } = await serve();
    try {
      assert.equal((await operator(base)).status, 200);
      for (let i = 0; i < 10; i++) assert.equal((await fetch(`${base}/api/plugins`, { headers: { authorization: `Bearer wrong${i}` } })).status, 401);
      assert.equal((await fetch(`${base}/api/plugins`, { headers: { authorization: "Bearer wrong" } })).status, 429);
    } finally {
      await app.close();
    }
  });

  it("ten cross-site no-cors GETs with ?token=x must not lock the operator's dashboard (same address, right token in the header) out", async () => {
    const { app, base } = await serve();
    try {
      assert.equal((await operator(base)).status, 200);
      for (let i = 0; i < 12; i++) {
        const r = await fetch(`${base}/api/plugins?token=x${i}`, { headers: BROWSER_CROSS_SITE });
        assert.ok(r.status === 401 || r.status === 429, String(r.status));
      }
      const r = await operator(base);
      assert.equal(r.status, 200, `the operator, with the right token, got ${r.status} ${await r.text()}`);
    } finally {
      await app.close();
    }
  });
});
