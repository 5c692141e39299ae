// The network capability: fetch. Each hop is parsed with the WHATWG URL parser and checked by
// net-check.ts (its name checked, resolved ONCE, every resolved address checked), and the request
// goes out as that CheckedTarget, pinned to exactly the addresses that were checked (the Host header
// and the TLS server name stay the URL's name). Redirects are followed here, never by the HTTP
// client, so every hop goes through the same check.
import { BadInputError, quote } from "../errors/index.ts";
import { optionsArg, stringArg } from "./arguments.ts";
import { permissionDenied } from "./denial.ts";
import { overLong, refuseOverLong } from "./value-bounds.ts";
import type { Grants } from "./grants.ts";
import { createTargetCheck, type CheckedTarget } from "./net-check.ts";
import { canonicalAddress, compileNetRules, decideAddress, matchAddressRule, matchName, type NetRules, type RuleRef } from "./net-rules.ts";
import { beforeEffect } from "./effect-guard.ts";
import { OperationError } from "./operation-error.ts";
import { checkRequestHeader, FETCH_METHODS } from "./request-headers.ts";
import type { AuditSink, CallContext, DnsPort, HttpPort } from "./ports.ts";

/** Options of the net capability of one plugin. */
export type NetCapabilityOptions = {
  readonly pluginId: string;
  readonly grants: Grants;
  readonly dns: DnsPort;
  readonly http: HttpPort;
  readonly audit: AuditSink;
  /** Largest response body, bytes. */
  readonly netBytes: number;
  /** Most requests of this plugin in flight at once. */
  readonly maxConcurrent: number;
  /** Told the body bytes each hop moved (sent and received), for the operator's byte quota. */
  readonly onTransfer?: (bytes: number) => void;
};

/** What fetch answers the isolate (the body as base64, since the crossing carries JSON). */
export type FetchAnswer = {
  status: number;
  statusText: string;
  headers: [string, string][];
  url: string;
  redirected: boolean;
  /** The body as text when it is valid UTF-8 (the common case, no base64 round trip)... */
  text?: string;
  /** ...and as base64 otherwise. */
  body?: string;
};

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
function bodyFields(bytes: Uint8Array): { text: string } | { body: string } {
  try {
    return { text: strictUtf8.decode(bytes) };
  } catch {
    return { body: Buffer.from(bytes).toString("base64") };
  }
}

const MAX_REDIRECTS = 10;

/** The network capability of one plugin. */
export type NetCapability = {
  fetch(url: unknown, init: unknown, ctx: CallContext): Promise<FetchAnswer>;
  /** Answer `{name:"net", host}` without resolving anything. */
  query(host: unknown): { state: "granted" | "denied"; rule?: string; source?: string };
};

/** Parse a query host (`host`, `host:port`, `[v6]:port`) strictly; a URL or wildcard is BAD_INPUT. */
export function parseQueryHost(host: string, pluginId: string): { hostname: string; port: number | null } {
  const api = "Warden.permissions.query()";
  const bad = (why: string) => new BadInputError(`${api}: ${quote(host)} is not a host: ${why}; expected "host", "host:port" or "[::1]:8080"`, { pluginId, permission: "net" });
  if (/[/\\@?#*\s]/.test(host)) throw bad("no scheme, path, user info or wildcard");
  if (!host.startsWith("[") && host.split(":").length > 2) throw bad("an IPv6 address must be in brackets");
  let url: URL;
  try {
    url = new URL(`http://${host}`);
  } catch {
    throw bad("it does not parse");
  }
  const m = /:(\d*)$/.exec(host.replace(/^\[[^\]]*\]/, ""));
  if (m) {
    const port = Number(m[1]);
    if (m[1] === "" || port < 1 || port > 65535) throw bad("the port is outside 1–65535");
    return { hostname: url.hostname, port };
  }
  return { hostname: url.hostname, port: null };
}

/** Build the net capability of one plugin. */
export function createNetCapability(o: NetCapabilityOptions): NetCapability {
  const rules: NetRules = compileNetRules(o.grants.net);
  const targets = createTargetCheck(rules, o.dns, o.pluginId);
  let inFlight = 0;

  /** Audit and throw a denial; with `hidden`, the plugin is told that instead of the address and why. */
  function deny(api: string, url: string, resolved: string | undefined, reason: string, hidden?: string): never {
    o.audit.record({ type: "deny", op: api, permission: "net", value: url, ...(resolved ? { resolved } : {}), decision: "denied", reason });
    throw permissionDenied({ pluginId: o.pluginId, api, permission: "net", value: url, resolved, reason, hidden, field: "permissions.net" });
  }

  /** Check one hop (net-check.ts); a refusal is audited and thrown as PermissionDenied. */
  async function checkHop(api: string, url: URL, signal: AbortSignal): Promise<CheckedTarget> {
    const d = await targets.decide(api, url, signal);
    if (!d.ok) return deny(api, url.href, d.resolved, d.reason, d.hidden);
    return d.target;
  }

  function parseInit(api: string, init: unknown): { method: string; headers: [string, string][]; body: Uint8Array | null; redirect: "follow" | "manual" | "error" } {
    const opts = optionsArg(api, init, ["method", "headers", "body", "redirect"], o.pluginId);
    const method = opts["method"] === undefined ? "GET" : stringArg(api, "init.method", opts["method"], o.pluginId).toUpperCase();
    if (!FETCH_METHODS.has(method)) throw new BadInputError(`${api}: method ${quote(method)} is not supported; use one of ${[...FETCH_METHODS].join(", ")}`, { pluginId: o.pluginId });
    const headers: [string, string][] = [];
    const rawHeaders = opts["headers"] ?? [];
    if (!Array.isArray(rawHeaders)) throw new BadInputError(`${api}: init.headers must be a list of [name, value] pairs`, { pluginId: o.pluginId });
    for (const pair of rawHeaders) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new BadInputError(`${api}: init.headers must be a list of [name, value] pairs`, { pluginId: o.pluginId });
      const name = stringArg(api, "a header name", pair[0], o.pluginId);
      const value = stringArg(api, `header ${name}`, pair[1], o.pluginId, true);
      checkRequestHeader(api, name, value, o.pluginId);
      headers.push([name, value]);
    }
    let body: Uint8Array | null = null;
    const b = opts["body"];
    if (b !== undefined && b !== null) {
      if (typeof b !== "object" || Array.isArray(b)) throw new BadInputError(`${api}: init.body must be a string or bytes`, { pluginId: o.pluginId });
      const { text, base64 } = b as { text?: unknown; base64?: unknown };
      if (typeof text === "string") body = new TextEncoder().encode(text);
      else if (typeof base64 === "string") body = Buffer.from(base64, "base64");
      else throw new BadInputError(`${api}: init.body must be a string or bytes`, { pluginId: o.pluginId });
      if (method === "GET" || method === "HEAD") throw new BadInputError(`${api}: a ${method} request cannot have a body`, { pluginId: o.pluginId });
    }
    const redirect = opts["redirect"] ?? "follow";
    if (redirect !== "follow" && redirect !== "manual" && redirect !== "error") throw new BadInputError(`${api}: init.redirect must be "follow", "manual" or "error"`, { pluginId: o.pluginId });
    return { method, headers, body, redirect };
  }

  return {
    async fetch(urlArg, init, ctx) {
      const api = "fetch()";
      refuseOverLong(urlArg, { pluginId: o.pluginId, api, permission: "net", field: "permissions.net", what: "the URL", kind: "urlChars", audit: o.audit });
      const text = stringArg(api, "the URL", urlArg, o.pluginId);
      if (!URL.canParse(text)) throw new BadInputError(`${api}: ${quote(text)} is not an absolute URL`, { pluginId: o.pluginId });
      let url = new URL(text);
      const parsed = parseInit(api, init);
      const redirect = parsed.redirect;
      let { method, headers, body } = parsed;
      if (inFlight >= o.maxConcurrent) throw new OperationError("Busy", `${api}: this plugin already has ${o.maxConcurrent} requests in flight; wait for one to finish`);
      inFlight++;
      const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(ctx.deadline - Date.now())));
      const signal = AbortSignal.any([ctx.signal, timeout]);
      try {
        for (let hop = 0; ; hop++) {
          const checked = await checkHop(api, url, signal);
          // The hop's check awaited DNS: a revoke or an unload may have come meanwhile.
          beforeEffect(ctx.signal, `${api}: sending the request to ${quote(url.href)}`);
          // Recorded before the request goes out: whatever becomes of it (no answer, an answer too
          // large, a dropped connection), what the plugin sent reached the host, and the log says so.
          o.audit.record({
            type: "use",
            op: api,
            permission: "net",
            value: url.href,
            resolved: checked.addresses.map((a) => `${a.family === 6 ? `[${a.address}]` : a.address}:${checked.port}`).join(", "),
            decision: "granted",
            rule: checked.rule,
            source: checked.source,
          });
          let res;
          try {
            res = await o.http.request({ target: checked, method, headers, body, maxBodyBytes: o.netBytes, signal });
          } catch (e) {
            const code = (e as { code?: string }).code;
            // What went before the failure is not known exactly: a refused oversized answer counts
            // as the most it was allowed to read, a failed connection as what it had to send.
            o.onTransfer?.((body?.length ?? 0) + (code === "TooLarge" ? o.netBytes : 0));
            if (code === "TooLarge") throw new OperationError("TooLarge", `${api}: the response from ${quote(url.href)} is larger than limits.netBytes (${o.netBytes} bytes)`);
            if (signal.aborted) throw new OperationError("Timeout", `${api}: ${quote(url.href)} did not answer within the call's time`);
            throw new OperationError("ConnectionFailed", `${api}: ${quote(url.href)}: ${(e as Error).message ?? "connection failed"}`);
          }
          o.onTransfer?.((body?.length ?? 0) + res.body.length);
          const location = res.headers.find(([k]) => k.toLowerCase() === "location")?.[1];
          const isRedirect = [301, 302, 303, 307, 308].includes(res.status) && location !== undefined;
          if (isRedirect && redirect === "error") throw new OperationError("InvalidData", `${api}: ${quote(url.href)} redirected and init.redirect is "error"`);
          if (!isRedirect || redirect === "manual") {
            return { status: res.status, statusText: res.statusText, headers: res.headers.map(([k, v]) => [k, v]), url: url.href, redirected: hop > 0, ...bodyFields(res.body) };
          }
          if (hop + 1 > MAX_REDIRECTS) throw new OperationError("TooManyRedirects", `${api}: more than ${MAX_REDIRECTS} redirects starting from ${quote(text)}`);
          const next = URL.canParse(location, url.href) ? new URL(location, url.href) : null;
          if (next === null) throw new OperationError("InvalidData", `${api}: ${quote(url.href)} redirected to an invalid URL ${quote(location)}`);
          // A hop is judged as a URL the plugin passed would be, its length first.
          refuseOverLong(next.href, { pluginId: o.pluginId, api, permission: "net", field: "permissions.net", what: "the URL a redirect leads to", kind: "urlChars", audit: o.audit });
          if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
            method = "GET";
            body = null;
            headers = headers.filter(([k]) => !k.toLowerCase().startsWith("content-"));
          }
          // Credentials do not follow a redirect to another origin (as in the web's fetch).
          if (next.origin !== url.origin) headers = headers.filter(([k]) => !["authorization", "cookie"].includes(k.toLowerCase()));
          url = next;
        }
      } finally {
        inFlight--;
      }
    },

    query(host) {
      if (host === undefined) return rules.all ? { state: "granted", rule: "true", source: rules.field } : { state: "denied" };
      if (overLong(host, "urlChars")) return { state: "denied" };
      const value = stringArg("Warden.permissions.query()", "host", host, o.pluginId);
      const { hostname, port } = parseQueryHost(value, o.pluginId);
      const addr = canonicalAddress(hostname);
      if (addr !== null) {
        // Without a port, the answer is for an explicit rule with any port.
        const d = port === null ? matchAddressRule(rules, addr, -1) : null;
        const decision = port === null ? (d ? { ok: true as const, via: d } : { ok: false as const }) : decideAddress(rules, addr, port, null, null);
        return decision.ok ? { state: "granted", rule: decision.via.rule, source: decision.via.source } : { state: "denied" };
      }
      const ref = port === null ? matchNameAnyPort(rules, hostname) : matchName(rules, hostname, port);
      return ref ? { state: "granted", rule: ref.rule, source: ref.source } : { state: "denied" };
    },
  };
}

function matchNameAnyPort(rules: NetRules, hostname: string): RuleRef | null {
  // "Is this host granted on every port" is what a port-less question means (Deno's semantics).
  const onlyAnyPort: NetRules = { ...rules, rules: rules.rules.filter((r) => r.port === null) };
  return matchName(onlyAnyPort, hostname, 0);
}
