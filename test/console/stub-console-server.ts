// A test-only stand-in for core/console/console-server.ts: just enough of docs/console-api.md
// (the dashboard's files, the token, the CSP and the /api routes the dashboard reads) over a real
// Host for the browser test to drive the dashboard. At integration the real server replaces it:
// the browser test needs only `startConsole` below, which returns the URL and a close().
import { readFile, readdir } from "node:fs/promises";
import { createHash, timingSafeEqual } from "node:crypto";
import { extname, join } from "node:path";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { verifyAuditText } from "../../core/audit/verify-audit.ts";
import { grantsDiff, listGrants } from "../../core/consent/grant-decisions.ts";
import type { Host, HostEvent } from "../../core/host/host.ts";
import { describeGrants } from "../../manifests/grant-table.ts";
import { readManifest } from "../../manifests/read-manifest.ts";
import { WARDEN_VERSION } from "../../core/version.ts";

/** What the stub serves. `logLines`: every log line the host wrote (a capture logger's), filtered per plugin here. */
export type StubConsoleOptions = {
  readonly host: Host;
  readonly pluginsDir: string;
  readonly auditLogFile: string;
  readonly token: string;
  readonly dashboardDir: string;
  readonly logLines?: () => ReadonlyArray<Record<string, unknown>>;
};

/** A running console: where to open it, and how to stop it. */
export type RunningConsole = { readonly url: string; close(): Promise<void> };

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const SECURITY_HEADERS = { "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer" };
const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png" };

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Start the stub on a free loopback port. */
export async function startConsole(o: StubConsoleOptions): Promise<RunningConsole> {
  const app = Fastify({ logger: false });
  const denials = new Map<string, HostEvent[]>();
  let restarts = 0;
  const onEvent = (e: HostEvent) => {
    if (e.type === "denied") denials.set(e.plugin, [...(denials.get(e.plugin) ?? []), e].slice(-50));
    if (e.type === "engine-restart") restarts++;
  };
  o.host.on("event", onEvent);
  const streams = new Set<() => void>();

  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    void reply.headers(SECURITY_HEADERS);
    if (!req.url.startsWith("/api/") && !req.url.startsWith("/metrics")) return;
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
    if (!timingSafeEqual(digest(given), digest(o.token))) {
      await reply
        .code(401)
        .header("WWW-Authenticate", "Bearer")
        .send({ error: { code: "UNAUTHORIZED", message: "a valid bearer token is needed" } });
    }
  });

  const file = async (reply: FastifyReply, name: string) => {
    const files = await readdir(o.dashboardDir);
    if (!files.includes(name)) return reply.code(404).send({ error: { code: "NOT_FOUND", message: "no such file" } });
    return reply.type(TYPES[extname(name)] ?? "application/octet-stream").send(await readFile(join(o.dashboardDir, name)));
  };
  app.get("/", (_req, reply) => file(reply, "index.html"));
  app.get<{ Params: { file: string } }>("/assets/:file", (req, reply) => file(reply, req.params.file));

  const status = (id: string) => o.host.status().find((p) => p.id === id);
  const notFound = (reply: FastifyReply, id: string) => reply.code(404).send({ error: { code: "NOT_FOUND", message: `no plugin ${id}` } });
  const failed = (reply: FastifyReply, e: unknown) => {
    const err = e as { code?: unknown; message?: unknown };
    return reply.code(409).send({ error: { code: typeof err.code === "string" ? err.code : "PLUGIN_ERROR", message: String(err.message) } });
  };

  app.get("/api/plugins", () => ({ plugins: o.host.status() }));
  app.get<{ Params: { id: string } }>("/api/plugins/:id", async (req, reply) => {
    const plugin = status(req.params.id);
    if (plugin === undefined) return notFound(reply, req.params.id);
    const loaded = await readManifest(plugin.dir, WARDEN_VERSION).catch(() => null);
    const log = (o.logLines?.() ?? []).filter((l) => l["plugin"] === plugin.id).slice(-100);
    return { plugin, grants: loaded === null ? [] : describeGrants(loaded.manifest, loaded.dir), usage: plugin.grantUsage, denials: denials.get(plugin.id) ?? [], log };
  });
  app.get("/api/approvals", async () => ({ plugins: (await listGrants(o.pluginsDir)).plugins }));
  app.get<{ Params: { id: string } }>("/api/approvals/:id/diff", (req) => grantsDiff(o.pluginsDir, req.params.id));
  app.post<{ Params: { id: string; action: string }; Body: { reason?: string } | null }>("/api/plugins/:id/:action", async (req, reply) => {
    const { id, action } = req.params;
    if (status(id) === undefined) return notFound(reply, id);
    try {
      if (action === "approve") await o.host.approve(id);
      else if (action === "deny") await o.host.deny(id, req.body?.reason);
      else if (action === "revoke") await o.host.revoke(id, req.body?.reason);
      else if (action === "release") o.host.release(id);
      else if (action === "reload") await o.host.reload(id);
      else if (action === "unload") await o.host.unload(id);
      else return reply.code(404).send({ error: { code: "NOT_FOUND", message: `no action ${action}` } });
    } catch (e) {
      return failed(reply, e);
    }
    return { ok: true, plugin: status(id) };
  });
  app.get<{ Querystring: Record<string, string | undefined> }>("/api/audit", async (req) => {
    const text = await readFile(o.auditLogFile, "utf8").catch(() => "");
    const v = verifyAuditText(text);
    const q = req.query;
    const all = text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => (!q["plugin"] || r["plugin"] === q["plugin"]) && (!q["type"] || r["type"] === q["type"]) && (!q["decision"] || r["decision"] === q["decision"]));
    const offset = Math.max(0, Number(q["offset"] ?? 0) || 0);
    const limit = Math.min(1000, Math.max(1, Number(q["limit"] ?? 100) || 100));
    return { records: all.slice(offset, offset + limit), total: all.length, offset, limit, verified: v.ok ? { ok: true, records: v.records, head: v.head } : v };
  });
  app.get("/api/engines", () => ({ engines: o.host.engines, spare: o.host.spareEngines, restarts, sandboxed: o.host.sandboxed }));
  app.get("/api/events", (req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive" });
    reply.raw.write(": connected\n\n");
    const send = (e: HostEvent) => reply.raw.write(`data: ${JSON.stringify(e)}\n\n`);
    const stop = () => {
      o.host.off("event", send);
      streams.delete(stop);
      reply.raw.end();
    };
    o.host.on("event", send);
    streams.add(stop);
    req.raw.on("close", stop);
  });

  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    async close() {
      for (const stop of [...streams]) stop();
      o.host.off("event", onEvent);
      await app.close();
    },
  };
}
