// fetch against a loopback server this test starts. Each bypass of docs/security.md's list that
// applies to a network sandbox (IP literal forms, DNS answers pointing inside, redirects, mixed
// answers) is tried as an attacker would, next to the granted request that must still work.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { canonicalAddress, createCapabilities, matchName, compileNetRules, specialRange, type AuditEvent, type Capabilities, type Grants } from "../../capabilities/index.ts";
import { fixedDns, nodePorts, TEST_LIMITS } from "../helpers/ports.ts";

let server: Server;
let port: number;
const hostHeaders: string[] = [];
const events: AuditEvent[] = [];

async function caps(net: Grants["net"], dns: Record<string, string[]> = {}): Promise<Capabilities> {
  return createCapabilities({
    pluginId: "test.fetcher",
    pluginDir: "/nonexistent-plugin-dir",
    grants: { net },
    ports: nodePorts({ dns: fixedDns(dns) }),
    audit: { record: (e) => events.push(e) },
    limits: TEST_LIMITS,
  });
}

type Answer = { status: number; text?: string; body?: string; url: string; redirected: boolean; headers: [string, string][] };

async function fetchOk(c: Capabilities, url: string, init?: unknown): Promise<Answer> {
  return (await c.call("fetch", init === undefined ? [url] : [url, init])) as Answer;
}

async function fetchDenied(c: Capabilities, url: string, expect: RegExp): Promise<AuditEvent> {
  const before = events.length;
  await assert.rejects(c.call("fetch", [url]), (e: Error & { code?: string }) => {
    assert.equal(e.code, "PERMISSION_DENIED", e.message);
    assert.match(e.message, expect);
    assert.match(e.message, /add it to permissions\.net in plugin\.json of test\.fetcher/);
    return true;
  });
  const rec = events.slice(before).find((r) => r.type === "deny" && r.permission === "net");
  assert.ok(rec, "the denial must be audited");
  return rec;
}

describe("net rules (pure)", () => {
  it("canonicalises every written form of an address with ipaddr.js", () => {
    for (const form of ["127.0.0.1", "::ffff:127.0.0.1", "[::ffff:7f00:1]", "::ffff:7f00:1"]) {
      assert.equal(canonicalAddress(form)?.toString(), "127.0.0.1", form);
    }
    assert.equal(canonicalAddress("not-an-ip"), null);
  });
  it("classifies loopback, private, link-local, metadata, unique-local and unspecified as special; public as not", () => {
    for (const a of [
      "127.0.0.1",
      "127.9.9.9",
      "::1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "fc00::1",
      "fd12::1",
      "fe80::1",
      "0.0.0.0",
      "::",
      "100.64.0.1",
      "64:ff9b::7f00:1",
      "::7f00:1",
      "::127.0.0.1",
      "::a00:1",
      "::808:808",
    ]) {
      assert.notEqual(specialRange(canonicalAddress(a)!), null, a);
    }
    for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700::1111"]) assert.equal(specialRange(canonicalAddress(a)!), null, a);
  });
  it("*.domain covers the bare domain and subdomains, not look-alikes; a port in a rule is exact", () => {
    const rules = compileNetRules(["*.example.org", "api.test:8443"]);
    assert.equal(matchName(rules, "example.org", 443)?.source, "permissions.net[0]");
    assert.equal(matchName(rules, "a.b.example.org", 80)?.rule, "*.example.org");
    assert.equal(matchName(rules, "evilexample.org", 443), null);
    assert.equal(matchName(rules, "example.org.evil.com", 443), null);
    assert.equal(matchName(rules, "api.test", 8443)?.rule, "api.test:8443");
    assert.equal(matchName(rules, "api.test", 443), null);
    assert.equal(matchName(rules, "API.TEST.", 8443)?.rule, "api.test:8443", "names compare case-insensitively, trailing dot ignored");
  });
});

describe("fetch capability", () => {
  before(async () => {
    server = createServer((req, res) => {
      hostHeaders.push(String(req.headers.host));
      const u = new URL(req.url ?? "/", "http://x");
      if (u.pathname === "/redirect") {
        res.writeHead(302, { location: u.searchParams.get("to") ?? "/" });
        res.end();
      } else if (u.pathname === "/loop") {
        res.writeHead(302, { location: "/loop" });
        res.end();
      } else if (u.pathname === "/big") {
        res.end("x".repeat(100 * 1024));
      } else if (u.pathname === "/slow") {
        // never answers
      } else if (u.pathname === "/echo") {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization ?? null, custom: req.headers["x-custom"] ?? null }));
        });
      } else if (u.pathname === "/bytes") {
        res.end(Buffer.from([0xff, 0x00, 0xfe]));
      } else {
        res.end(`hello via ${req.headers.host}`);
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("positive control: a granted address is fetched, the use audited with the rule and its source", async () => {
    const c = await caps([`127.0.0.1:${port}`]);
    const r = await fetchOk(c, `http://127.0.0.1:${port}/`);
    assert.equal(r.status, 200);
    assert.equal(r.text, `hello via 127.0.0.1:${port}`);
    const use = events.filter((e) => e.type === "use" && e.permission === "net").at(-1);
    assert.equal(use?.rule, `127.0.0.1:${port}`);
    assert.equal(use?.source, "permissions.net[0]");
    assert.equal(use?.resolved, `127.0.0.1:${port}`);
  });

  it("positive controls: method, headers and body go out; JSON and bytes come back", async () => {
    const c = await caps([`127.0.0.1:${port}`]);
    const r = await fetchOk(c, `http://127.0.0.1:${port}/echo`, { method: "POST", headers: [["x-custom", "1"]], body: { text: '{"a":1}' } });
    assert.deepEqual(JSON.parse(r.text ?? ""), { method: "POST", body: '{"a":1}', auth: null, custom: "1" });
    const b = await fetchOk(c, `http://127.0.0.1:${port}/bytes`);
    assert.equal(b.text, undefined, "invalid UTF-8 crosses as base64");
    assert.deepEqual([...Buffer.from(b.body ?? "", "base64")], [0xff, 0x00, 0xfe]);
  });

  it("denies every other written form of 127.0.0.1 unless an address rule names it (D22/D23)", async () => {
    const c = await caps(true);
    for (const url of [
      `http://127.0.0.1:${port}/`,
      `http://2130706433:${port}/`,
      `http://0x7f.1:${port}/`,
      `http://0177.0.0.1:${port}/`,
      `http://127.1:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://[::ffff:7f00:1]:${port}/`,
      `http://0.0.0.0:${port}/`,
      `http://[::1]:${port}/`,
    ]) {
      await fetchDenied(c, url, /loopback|unspecified|ipv4Mapped/);
    }
    const named = await caps([`127.0.0.1:${port}`]);
    const r = await fetchOk(named, `http://2130706433:${port}/`);
    assert.equal(r.status, 200, "the decimal form is the same address: an explicit rule covers it");
  });

  it("names and addresses are distinct rules: 127.0.0.1:port does not cover localhost:port", async () => {
    const c = await caps([`127.0.0.1:${port}`], { localhost: ["127.0.0.1"] });
    await fetchDenied(c, `http://localhost:${port}/`, /no rule in permissions\.net covers localhost/);
    const l = await caps([`localhost:${port}`], { localhost: ["127.0.0.1"] });
    assert.equal((await fetchOk(l, `http://localhost:${port}/`)).status, 200, "a localhost rule reaches loopback");
  });

  it("denies a granted name that resolves to a loopback address (DNS rebinding, D21)", async () => {
    const c = await caps(["evil.test", "*.attacker.test"], { "evil.test": ["127.0.0.1"], "x.attacker.test": ["169.254.169.254"] });
    const rec = await fetchDenied(c, `http://evil.test:${port}/`, /permissions\.net allows evil\.test:\d+, but it resolves to an address no rule allows/);
    assert.equal(rec.resolved, `127.0.0.1:${port}`);
    await fetchDenied(c, "http://x.attacker.test/latest/meta-data/", /^(?!.*169\.254).*resolves to an address no rule allows/);
  });

  it("denies when any one of several resolved addresses is not allowed", async () => {
    const c = await caps(["mixed.test"], { "mixed.test": ["93.184.216.34", "10.0.0.1"] });
    await fetchDenied(c, `http://mixed.test:${port}/`, /^(?!.*10\.0\.0\.1).*mixed\.test:\d+, but it resolves to an address no rule allows/);
  });

  it("connects to exactly the checked address and keeps the name as Host (pinning)", async () => {
    // pinned.test does not exist in real DNS: the request can only arrive if the connection went
    // to the address warden checked, and the server sees the name, not the address.
    const c = await caps(["pinned.test", "127.0.0.1"], { "pinned.test": ["127.0.0.1"] });
    const r = await fetchOk(c, `http://pinned.test:${port}/`);
    assert.equal(r.text, `hello via pinned.test:${port}`);
  });

  it("checks every redirect hop again; a redirect to an ungranted host is denied (O2)", async () => {
    const c = await caps([`127.0.0.1:${port}`]);
    const same = await fetchOk(c, `http://127.0.0.1:${port}/redirect?to=/final`);
    assert.equal(same.redirected, true);
    assert.equal(same.url, `http://127.0.0.1:${port}/final`);
    await fetchDenied(c, `http://127.0.0.1:${port}/redirect?to=${encodeURIComponent(`http://127.0.0.2:${port}/`)}`, /127\.0\.0\.2/);
    await fetchDenied(c, `http://127.0.0.1:${port}/redirect?to=${encodeURIComponent("http://169.254.169.254/")}`, /169\.254\.169\.254/);
    await assert.rejects(c.call("fetch", [`http://127.0.0.1:${port}/loop`]), { code: "TooManyRedirects" });
    const manual = await fetchOk(c, `http://127.0.0.1:${port}/redirect?to=/final`, { redirect: "manual" });
    assert.equal(manual.status, 302);
  });

  it("drops credentials on a cross-origin redirect", async () => {
    const c = await caps([`127.0.0.1:${port}`, `localhost:${port}`], { localhost: ["127.0.0.1"] });
    const r = await fetchOk(c, `http://127.0.0.1:${port}/redirect?to=${encodeURIComponent(`http://localhost:${port}/echo`)}`, { headers: [["authorization", "secret"]] });
    assert.equal((JSON.parse(r.text ?? "") as { auth: unknown }).auth, null);
  });

  it("caps the response body at limits.netBytes", async () => {
    const c = await caps([`127.0.0.1:${port}`]);
    await assert.rejects(c.call("fetch", [`http://127.0.0.1:${port}/big`]), (e: Error & { code?: string }) => e.code === "TooLarge" && /limits\.netBytes/.test(e.message));
  });

  it("stops a request when the call's time runs out", async () => {
    const c = await caps([`127.0.0.1:${port}`]);
    const ctx = { deadline: Date.now() + 200, signal: new AbortController().signal };
    await assert.rejects(c.call("fetch", [`http://127.0.0.1:${port}/slow`], ctx), { code: "Timeout" });
  });

  it("refuses non-http schemes, user info and headers that would reroute the request", async () => {
    const c = await caps(true);
    for (const url of ["file:///etc/passwd", "ftp://example.org/", "data:text/plain,hi"]) await assert.rejects(c.call("fetch", [url]), { code: "BAD_INPUT" }, url);
    await assert.rejects(c.call("fetch", ["http://user:pw@example.org/"]), { code: "BAD_INPUT" });
    await assert.rejects(c.call("fetch", ["http://example.org/", { headers: [["Host", "internal"]] }]), { code: "BAD_INPUT" });
    await assert.rejects(c.call("fetch", ["http://example.org/", { headers: [["x", "a\r\nInjected: 1"]] }]), { code: "BAD_INPUT" });
  });

  it("answers net queries with the rule and its source, and rejects malformed hosts", async () => {
    const c = await caps(["*.example.org", `127.0.0.1:${port}`, "10.0.0.0/8"]);
    assert.deepEqual(await c.call("permissions.query", [{ name: "net", host: "api.example.org" }]), { state: "granted", rule: "*.example.org", source: "permissions.net[0]" });
    assert.deepEqual(await c.call("permissions.query", [{ name: "net", host: `127.0.0.1:${port}` }]), { state: "granted", rule: `127.0.0.1:${port}`, source: "permissions.net[1]" });
    assert.deepEqual(await c.call("permissions.query", [{ name: "net", host: "127.0.0.1" }]), { state: "denied" }, "a port-less question asks about every port");
    assert.deepEqual(await c.call("permissions.query", [{ name: "net", host: "10.2.3.4:22" }]), { state: "granted", rule: "10.0.0.0/8", source: "permissions.net[2]" });
    assert.deepEqual(await c.call("permissions.query", [{ name: "net", host: "evil.org" }]), { state: "denied" });
    assert.deepEqual(await c.call("permissions.query", [{ name: "net" }]), { state: "denied" });
    for (const host of ["*.example.org", "http://example.org", "::1", "example.org:70000", "a b", "user@example.org"]) {
      await assert.rejects(c.call("permissions.query", [{ name: "net", host }]), { code: "BAD_INPUT" }, host);
    }
  });
});
