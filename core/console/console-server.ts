// The operator's console over HTTP (docs/console-api.md): the admin API on a running host, the
// Prometheus endpoint and the dashboard's static files. Default deny: every route needs the bearer
// token except those marked public (the dashboard's files), and the check runs in onRequest, before
// a body is parsed or validated, so a caller without the token learns nothing and costs little.
import { fastify, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { Ajv } from "ajv";
import { existsSync } from "node:fs";
import { describeGrants } from "../../manifests/index.ts";
import { GRANT_KINDS, type ApprovalQuotas, type GrantKind } from "../consent/approvals-file.ts";
import { grantsDiff, listGrants } from "../consent/grant-decisions.ts";
import { BadInputError, isWardenError, NotFoundError, RateLimitedError, toWardenError, UnauthorizedError, type WardenError, escapeStrings, escapeText, quote, safeJson } from "../../errors/index.ts";
import type { Host, HostEvent, PluginStatus } from "../host/host.ts";
import { queryAuditLog, parseIsoTime } from "./audit-query.ts";
import { DEFAULT_CONSOLE } from "./console-defaults.ts";
import { crossSiteReason } from "./cross-site.ts";
import { FailureLimiter, tokenFilePath, tokenMatches } from "./console-token.ts";
import { dashboardFile, DASHBOARD_DIR, PLACEHOLDER_PAGE } from "./dashboard-files.ts";
import { DenialRing, type PluginLogRing } from "./recent-rings.ts";

/** What `/metrics` serves (core/console/metrics.ts implements it with prom-client). */
export interface ConsoleMetrics {
  readonly contentType: string;
  render(): Promise<string>;
}

/** How to create the console's server. */
export type ConsoleServerOptions = {
  readonly host: Host;
  /** The host's plugins directory (approvals are read from it). */
  readonly pluginsDir: string;
  /** The host's audit log file (read by `/api/audit`; the token file is next to it). */
  readonly auditLogFile: string;
  /** The audit key the host's log is keyed with (createHost's auditKey), to verify it; none for an unkeyed log. */
  readonly auditKey?: string | undefined;
  /** The bearer token every API request must carry. */
  readonly token: string;
  /** The per-plugin log ring the host's logger writes to (without one, `log` is empty). */
  readonly logBuffer?: PluginLogRing;
  /** Where the dashboard's files are (default: core/console/dashboard/ of this package). */
  readonly dashboardDir?: string;
  readonly metrics?: ConsoleMetrics;
  /** The failed-token limiter (default: DEFAULT_CONSOLE's 10 failures a minute per address). */
  readonly limiter?: FailureLimiter;
  /** Host names the Host header may carry (port aside); default any. `warden serve` on loopback passes its loopback names. */
  readonly allowedHosts?: readonly string[];
};

/** The name in a Host header, without its port, lowercased (`[::1]:7700` → `[::1]`). */
function hostnameOf(header: string | undefined): string {
  const h = (header ?? "").trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  return colon === -1 ? h : h.slice(0, colon);
}

/** The security headers of every response (docs/console-api.md, "Security of the console"). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
});

const ID_PATTERN = "^[a-z0-9-]+(\\.[a-z0-9-]+)+$";
const ID_PARAMS = {
  type: "object",
  properties: { id: { type: "string", pattern: ID_PATTERN, maxLength: 214 } },
  required: ["id"],
  additionalProperties: false,
} as const;
const COUNT = { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
const APPROVE_BODY = {
  type: "object",
  additionalProperties: false,
  properties: {
    only: { type: "array", items: { type: "string", enum: [...GRANT_KINDS] }, minItems: 1, maxItems: GRANT_KINDS.length, uniqueItems: true },
    expires: { type: "string", maxLength: 64 },
    quotas: {
      type: "object",
      additionalProperties: false,
      properties: { netRequestsPerMinute: COUNT, netBytesPerDay: COUNT, execPerMinute: COUNT, writeBytesPerDay: COUNT },
    },
  },
} as const;
const REASON_BODY = { type: "object", additionalProperties: false, properties: { reason: { type: "string", maxLength: 1000 } } } as const;
const EMPTY_BODY = { type: "object", additionalProperties: false, properties: {} } as const;
const AUDIT_QUERY = {
  type: "object",
  additionalProperties: false,
  properties: {
    plugin: { type: "string", maxLength: 214 },
    type: { type: "string", maxLength: 64 },
    decision: { type: "string", enum: ["granted", "denied"] },
    from: { type: "string", maxLength: 64 },
    to: { type: "string", maxLength: 64 },
    offset: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 },
    limit: { type: "integer", minimum: 1, maximum: DEFAULT_CONSOLE.auditMaxPageSize, default: DEFAULT_CONSOLE.auditPageSize },
  },
} as const;
const NO_QUERY = { type: "object", additionalProperties: false, properties: {} } as const;

/** HTTP status of a warden error: the console's own codes have theirs; every other refusal of warden's is 409. */
function statusOf(e: WardenError): number {
  switch (e.code) {
    case "BAD_INPUT":
      return 400;
    case "UNAUTHORIZED":
      return 401;
    case "NOT_FOUND":
      return 404;
    case "RATE_LIMITED":
      return 429;
    default:
      return 409;
  }
}

/** A fastify validation error as one sentence naming the field (`body.only[0]: must be equal to one of the allowed values`). */
function validationMessage(e: FastifyError): { field: string; message: string } {
  const first = e.validation?.[0];
  const context = e.validationContext ?? "request";
  if (first === undefined) return { field: context, message: e.message };
  const path = first.instancePath
    .split("/")
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join("");
  const extra = (first.params as { additionalProperty?: unknown }).additionalProperty;
  const field = `${context}${path}${typeof extra === "string" ? `.${extra}` : ""}`;
  const allowed = (first.params as { allowedValues?: unknown }).allowedValues;
  const what = typeof extra === "string" ? "is not a field this route takes" : `${first.message ?? "is invalid"}${Array.isArray(allowed) ? `: ${allowed.join(", ")}` : ""}`;
  return { field, message: `${quote(field, 100)} ${what}; see docs/console-api.md` };
}

/** Create the console's fastify server over `o.host` (not listening: the caller listens and closes it). */
export function createConsoleServer(o: ConsoleServerOptions): FastifyInstance {
  const { host } = o;
  const limiter = o.limiter ?? new FailureLimiter();
  const allowedHosts = o.allowedHosts === undefined ? null : new Set(o.allowedHosts.map((h) => h.toLowerCase()));
  const tokenFile = tokenFilePath(o.auditLogFile);
  const dashboardDir = o.dashboardDir ?? DASHBOARD_DIR;
  const denials = new DenialRing();
  const engineRestarts = engineRestartCounter();
  const streams = new Set<FastifyReply>();
  host.on("event", denials.listener);
  host.on("event", engineRestarts.listener);

  // maxParamLength above the id schema's maxLength, so that a long id is the schema's 400 naming params.id, not a bare 414.
  const app = fastify({ logger: false, bodyLimit: DEFAULT_CONSOLE.bodyLimit, trustProxy: false, return503OnClosing: true, routerOptions: { maxParamLength: 256 } });
  // Query strings and params are text, so their numbers are coerced; bodies are JSON and must have
  // the declared types as they are. No schema removes what it does not know: unknown fields are 400.
  const lenient = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false });
  const strict = new Ajv({ coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === "body" ? strict : lenient).compile(schema));
  app.setReplySerializer((payload) => safeJson(payload));

  app.addHook("onSend", async (_request, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return payload;
  });

  app.addHook("onRequest", async (request, reply) => {
    // DNS rebinding: a web page whose name an attacker points at 127.0.0.1 reaches a loopback
    // console with its own name in Host. Only the names given (a loopback console's own) pass,
    // for the dashboard's files too.
    if (allowedHosts !== null && !allowedHosts.has(hostnameOf(request.headers.host))) {
      throw new UnauthorizedError(
        `this console answers only to ${[...allowedHosts].join(", ")} in the Host header, not ${JSON.stringify(escapeText(request.headers.host ?? ""))}; open it by that address`,
      );
    }
    if ((request.routeOptions.config as { public?: boolean } | undefined)?.public === true) return;
    // Another site's page never gets an answer (it could not read one) and is never counted as a
    // failed token check: counting it would let any web page lock the operator out.
    const crossSite = crossSiteReason(request.headers);
    if (crossSite !== null) throw new UnauthorizedError(`this console refuses requests from other sites' pages: ${crossSite}; open the console by its own address`);
    const address = request.ip;
    const blocked = limiter.blockedFor(address);
    if (blocked > 0) {
      reply.header("retry-after", String(Math.ceil(blocked / 1000)));
      throw new RateLimitedError(`too many failed token checks from ${address}: refused for ${Math.ceil(blocked / 1000)} s more; the token is in ${tokenFile}`);
    }
    const header = request.headers.authorization;
    const bearer = typeof header === "string" ? /^Bearer ([^\s]+)$/i.exec(header.trim())?.[1] : undefined;
    if (bearer !== undefined && tokenMatches(o.token, bearer)) return;
    const inQuery = typeof request.url === "string" && /[?&](access_)?token=/i.test(request.url);
    // Only an Authorization header counts as a failure. A request without one guesses nothing (a
    // query-string token is never accepted), and it is what a cross-site page can send without a
    // CORS preflight: counting it would hand any web page a switch that locks the operator out.
    // A page cannot send Authorization cross-site without a preflight, which this server never grants.
    if (header !== undefined) limiter.fail(address);
    reply.header("www-authenticate", 'Bearer realm="warden"');
    throw new UnauthorizedError(
      `the console needs Authorization: Bearer <token>; the token is in ${tokenFile}${inQuery ? " (a token in the query string is never accepted: it would end up in logs and history)" : header !== undefined ? " (the token sent is not it)" : ""}`,
    );
  });

  // A POST without a body (curl -X POST, the dashboard's buttons) is an empty one: its schema still applies.
  app.addHook("preValidation", async (request) => {
    if (request.method === "POST" && (request.body === undefined || request.body === null)) request.body = {};
  });

  app.setErrorHandler((error: FastifyError | WardenError, _request, reply) => {
    if (isWardenError(error)) {
      void reply.status(statusOf(error)).send({ error: { code: error.code, message: error.message } });
      return;
    }
    const e = error;
    if (e.validation !== undefined) {
      const { message } = validationMessage(e);
      void reply.status(400).send({ error: { code: "BAD_INPUT", message } });
      return;
    }
    // fastify's own refusals (a body that is not JSON, too large, a content type it cannot parse) are the client's.
    const status = typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    const code = status === 500 ? "PLUGIN_ERROR" : "BAD_INPUT";
    void reply.status(status).send({ error: { code, message: status === 500 ? `the console failed: ${toWardenError(e).message}` : e.message } });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: "NOT_FOUND", message: `no route ${request.method} ${quote(request.url.split("?")[0] ?? "", 100)}; the routes are in docs/console-api.md` } });
  });

  const statusOfId = (id: string): PluginStatus => {
    const all = host.status();
    const s = all.find((p) => p.id === id);
    if (s === undefined) throw new NotFoundError(`no plugin ${id} is known to this host; plugins: ${all.map((p) => p.id).join(", ") || "(none)"}`);
    return s;
  };

  // ---- reading ----
  app.get("/api/plugins", { schema: { querystring: NO_QUERY } }, async () => ({ plugins: host.status() }));

  app.get<{ Params: { id: string } }>("/api/plugins/:id", { schema: { params: ID_PARAMS, querystring: NO_QUERY } }, async (request) => {
    const { id } = request.params;
    const plugin = statusOfId(id);
    const loaded = host.manifestOf(id);
    return {
      plugin,
      // The manifest's own words (plugin text: JSON strings here, text in the dashboard, never HTML).
      about: loaded === null ? null : escapeStrings({ name: loaded.manifest.name, description: loaded.manifest.description ?? null }),
      grants: loaded === null ? [] : escapeStrings(describeGrants(loaded.manifest, loaded.dir)),
      usage: plugin.grantUsage,
      denials: denials.recent(id),
      log: o.logBuffer?.lines(id) ?? [],
    };
  });

  app.get("/api/approvals", { schema: { querystring: NO_QUERY } }, async () => {
    const listed = await listGrants(o.pluginsDir);
    return escapeStrings({ plugins: listed.plugins, rejected: listed.rejected });
  });

  app.get<{ Params: { id: string } }>("/api/approvals/:id/diff", { schema: { params: ID_PARAMS, querystring: NO_QUERY } }, async (request) => {
    const { id } = request.params;
    try {
      return escapeStrings(await grantsDiff(o.pluginsDir, id));
    } catch (e) {
      const err = toWardenError(e);
      // findPlugin's "no plugin" is the id's absence from the directory, not a malformed request.
      if (err.code === "BAD_INPUT" && err.details.pluginId === id && err.message.startsWith("no plugin")) throw new NotFoundError(err.message);
      throw err;
    }
  });

  app.get<{ Querystring: { plugin?: string; type?: string; decision?: string; from?: string; to?: string; offset: number; limit: number } }>(
    "/api/audit",
    { schema: { querystring: AUDIT_QUERY } },
    async (request) => queryAuditLog(o.auditLogFile, request.query, o.auditKey),
  );

  app.get("/api/engines", { schema: { querystring: NO_QUERY } }, async () => ({
    engines: host.engines,
    spare: host.spareEngines,
    restarts: engineRestarts.count,
    sandboxed: host.sandboxed,
  }));

  app.get("/api/events", { schema: { querystring: NO_QUERY } }, (request, reply) => {
    if (streams.size >= DEFAULT_CONSOLE.maxEventStreams)
      throw new RateLimitedError(`${streams.size} event streams are open, as many as the console serves at once; close one (each dashboard tab holds one)`);
    openEventStream(host, request, reply, streams);
  });

  app.get("/metrics", { schema: { querystring: NO_QUERY } }, async (_request, reply) => {
    if (o.metrics === undefined) throw new NotFoundError("this console was started without metrics");
    const text = await o.metrics.render();
    return reply.type(o.metrics.contentType).send(text);
  });

  // ---- acting: each is an audit record before it is done, and one after saying how it went ----
  const act = async (request: FastifyRequest<{ Params: { id: string } }>, action: string, terms: Record<string, unknown>, run: (id: string) => Promise<void> | void) => {
    const { id } = request.params;
    const record = { type: "admin", plugin: id, action, by: "console", address: request.ip, ...terms };
    if (!host.status().some((p) => p.id === id)) {
      host.audit.append({ ...record, outcome: "refused", code: "NOT_FOUND" });
      statusOfId(id);
    }
    host.audit.append({ ...record, outcome: "requested" });
    try {
      await run(id);
    } catch (e) {
      const err = toWardenError(e);
      host.audit.append({ ...record, outcome: "refused", code: err.code, reason: err.message });
      throw err;
    }
    host.audit.append({ ...record, outcome: "done" });
    return { ok: true, plugin: statusOfId(id) };
  };

  app.post<{ Params: { id: string }; Body: { only?: GrantKind[]; expires?: string; quotas?: ApprovalQuotas } | undefined }>(
    "/api/plugins/:id/approve",
    { schema: { params: ID_PARAMS, querystring: NO_QUERY, body: APPROVE_BODY } },
    async (request) => {
      const b = request.body ?? {};
      if (b.expires !== undefined && parseIsoTime("expires", b.expires) <= Date.now())
        throw new BadInputError(`"body.expires" ${quote(b.expires)} is not in the future; an approval that has already expired would grant nothing`, { field: "expires" });
      const expires = b.expires === undefined ? undefined : new Date(parseIsoTime("expires", b.expires)).toISOString();
      const terms = { ...(b.only !== undefined ? { only: b.only } : {}), ...(expires !== undefined ? { expires } : {}), ...(b.quotas !== undefined ? { quotas: b.quotas } : {}) };
      return act(request, "approve", terms, (id) => host.approve(id, { ...terms, by: `console (${request.ip})` }));
    },
  );

  for (const action of ["deny", "revoke"] as const) {
    app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
      `/api/plugins/:id/${action}`,
      { schema: { params: ID_PARAMS, querystring: NO_QUERY, body: REASON_BODY } },
      async (request) => {
        const reason = request.body?.reason;
        const terms = reason === undefined ? {} : { reason };
        return act(request, action, terms, (id) =>
          action === "deny" ? host.deny(id, reason, `console (${request.ip})`) : host.revoke(id, reason ?? "revoked from the console", `console (${request.ip})`),
        );
      },
    );
  }

  app.post<{ Params: { id: string } }>("/api/plugins/:id/release", { schema: { params: ID_PARAMS, querystring: NO_QUERY, body: EMPTY_BODY } }, async (request) =>
    act(request, "release", {}, (id) => host.release(id)),
  );
  app.post<{ Params: { id: string } }>("/api/plugins/:id/reload", { schema: { params: ID_PARAMS, querystring: NO_QUERY, body: EMPTY_BODY } }, async (request) =>
    act(request, "reload", {}, (id) => host.reload(id)),
  );
  app.post<{ Params: { id: string } }>("/api/plugins/:id/unload", { schema: { params: ID_PARAMS, querystring: NO_QUERY, body: EMPTY_BODY } }, async (request) =>
    act(request, "unload", {}, (id) => host.unload(id, "unloaded from the console")),
  );

  // ---- the dashboard: public files, no data in them ----
  const sendFile = (reply: FastifyReply, name: string) => {
    const file = dashboardFile(dashboardDir, name);
    if (file !== null) return reply.type(file.type).send(file.body);
    if (name === "index.html" && !existsSync(dashboardDir)) return reply.type("text/html; charset=utf-8").send(PLACEHOLDER_PAGE);
    throw new NotFoundError(`no dashboard file ${quote(name, 100)}`);
  };
  app.get("/", { config: { public: true } }, async (_request, reply) => sendFile(reply, "index.html"));
  // Browsers ask for it on their own: nothing to show, and not a 401 in the operator's console.
  app.get("/favicon.ico", { config: { public: true } }, async (_request, reply) => reply.code(204).send());
  app.get<{ Params: { file: string } }>("/assets/:file", { config: { public: true } }, async (request, reply) => sendFile(reply, request.params.file));

  // Open event streams would keep close() waiting for their clients: they are ended first.
  app.addHook("preClose", async () => {
    for (const r of streams) r.raw.end();
    streams.clear();
  });
  app.addHook("onClose", async () => {
    host.off("event", denials.listener);
    host.off("event", engineRestarts.listener);
  });
  return app;
}

/** Serve host events as server-sent events on `reply` until the client goes (or buffers too much). */
function openEventStream(host: Host, request: FastifyRequest, reply: FastifyReply, streams: Set<FastifyReply>): void {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8", connection: "keep-alive", "x-accel-buffering": "no" });
  raw.write(": warden events\n\n");
  streams.add(reply);
  const send = (text: string) => {
    // A client that does not read is dropped rather than buffered without bound (it reconnects).
    if (raw.writableLength > DEFAULT_CONSOLE.eventStreamBufferBytes) {
      raw.end();
      return;
    }
    raw.write(text);
  };
  const listener = (e: HostEvent) => send(`data: ${safeJson(e)}\n\n`);
  const heartbeat = setInterval(() => send(": heartbeat\n\n"), DEFAULT_CONSOLE.heartbeatMs);
  heartbeat.unref();
  host.on("event", listener);
  const done = () => {
    clearInterval(heartbeat);
    host.off("event", listener);
    streams.delete(reply);
  };
  request.raw.on("close", done);
  raw.on("close", done);
}

/** Counts engines that ended: each ending is one `engine-restart` event per tenant, counted once. */
function engineRestartCounter(): { readonly listener: (e: HostEvent) => void; readonly count: number } {
  let count = 0;
  let last = { key: "", at: 0 };
  return {
    listener: (e) => {
      if (e.type !== "engine-restart") return;
      const key = `${e.culprits.join(",")}|${e.message}`;
      const now = Date.now();
      if (key !== last.key || now - last.at > 2000) count++;
      last = { key, at: now };
    },
    get count() {
      return count;
    },
  };
}
