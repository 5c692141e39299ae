// The Node HttpPort against a real server: every way a body is abandoned for its size (announced by
// Content-Length, found while streaming, announced on an answer that has no body) ends in an answer
// or a TooLarge rejection, and never in an uncaught exception of the host (undici's body stream emits
// "Request aborted" when destroyed before its end; with no listener that ended the process).
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { CheckedTarget } from "../../capabilities/index.ts";
import { createTargetCheck } from "../../capabilities/net-check.ts";
import { compileNetRules } from "../../capabilities/net-rules.ts";
import { createNodeHttp } from "../../core/sys/node-net.ts";

const MAX = 1000;

describe("Node HttpPort: bodies abandoned for their size", () => {
  let server: Server;
  let port = 0;
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);

  before(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      if (u.pathname === "/announced") {
        res.writeHead(200, { "content-length": String(MAX * 100) });
        if (u.searchParams.has("some")) res.write("x".repeat(10));
        else res.end();
        return;
      }
      if (u.pathname === "/complete") {
        // The whole body in the packet that carries the head: undici has it all before warden looks.
        res.writeHead(200, { "content-length": String(MAX * 2) });
        res.end("x".repeat(MAX * 2));
        return;
      }
      if (u.pathname === "/streamed") {
        res.writeHead(200);
        res.end("x".repeat(MAX + 1));
        return;
      }
      res.end("fine");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
    process.on("uncaughtException", onUncaught);
  });
  after(async () => {
    process.off("uncaughtException", onUncaught);
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function target(path: string): Promise<CheckedTarget> {
    const check = createTargetCheck(compileNetRules([`127.0.0.1:${port}`]), { lookup: () => Promise.reject(new Error("no names here")) }, "t.http");
    const d = await check.decide("fetch()", new URL(`http://127.0.0.1:${port}${path}`), new AbortController().signal);
    assert.ok(d.ok);
    return d.target;
  }

  async function request(path: string, method = "GET"): Promise<string> {
    const http = createNodeHttp();
    const t = await target(path);
    const outcome = await http.request({ target: t, method, headers: [], body: null, maxBodyBytes: MAX, signal: new AbortController().signal }).then(
      (r) => `${r.status} ${r.body.length}`,
      (e: { code?: string }) => String(e.code),
    );
    // undici emits the destroyed body's error a turn or two later.
    for (let i = 0; i < 5; i++) await nextTurn();
    return outcome;
  }

  it("positive control: a small body is answered", async () => {
    assert.equal(await request("/"), "200 4");
  });

  it("announced too large (GET, with none, some or all of the body sent): TooLarge, nothing uncaught", async () => {
    assert.equal(await request("/announced"), "TooLarge");
    assert.equal(await request("/announced?some"), "TooLarge");
    assert.equal(await request("/complete"), "TooLarge");
    assert.deepEqual(uncaught, []);
  });

  it("found too large while streaming: TooLarge, nothing uncaught", async () => {
    assert.equal(await request("/streamed"), "TooLarge");
    assert.deepEqual(uncaught, []);
  });

  it("HEAD has no body whatever its Content-Length: answered, nothing uncaught", async () => {
    assert.equal(await request("/announced", "HEAD"), "200 0");
    assert.deepEqual(uncaught, []);
  });
});
