// What the prelude's web globals (40-web.js) ask the host for: URL parsing and setting (WHATWG URL
// is too large to rebuild inside the isolate, and Node's is exact) and random bytes (the isolate has
// no entropy source of its own). Each takes the request the prelude sent and returns the JSON text
// it parses; a request it cannot serve answers {"ok":false}, which the prelude turns into a TypeError.
import { randomBytes } from "node:crypto";

const URL_PROPS = new Set(["protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"]);

/** Most random bytes one request may ask for (crypto.getRandomValues' own limit). */
const MAX_RANDOM_BYTES = 65536;

function urlParts(u: URL): Record<string, string> {
  return {
    href: u.href,
    origin: u.origin,
    protocol: u.protocol,
    username: u.username,
    password: u.password,
    host: u.host,
    hostname: u.hostname,
    port: u.port,
    pathname: u.pathname,
    search: u.search,
    hash: u.hash,
  };
}

/** Parse `input` against `base` as new URL() would: its parts, or not ok. */
export function parseUrl(request: { input: string; base?: string }): string {
  const { input, base } = request;
  const u = URL.canParse(input, base) ? new URL(input, base) : null;
  return JSON.stringify(u ? { ok: true, parts: urlParts(u) } : { ok: false });
}

/** Set one part (`prop`) of the URL `href` as its setter would: the parts after, or not ok. */
export function setUrlPart(request: { href: string; prop: string; value: string }): string {
  const { href, prop, value } = request;
  if (!URL_PROPS.has(prop) || !URL.canParse(href)) return JSON.stringify({ ok: false });
  const u = new URL(href);
  (u as unknown as Record<string, string>)[prop] = String(value);
  return JSON.stringify({ ok: true, parts: urlParts(u) });
}

/** `n` random bytes (0 to 65536) as a JSON array of numbers. */
export function randomByteList(request: { n: number }): string {
  const count = Math.min(Math.max(0, Math.floor(Number(request.n) || 0)), MAX_RANDOM_BYTES);
  return JSON.stringify([...randomBytes(count)]);
}
