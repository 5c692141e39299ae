// The headers a plugin may put on a request, judged at the bridge, before any name is resolved or
// any connection made, so the policy does not depend on what the HTTP client happens to refuse.
// A plugin's header must not reroute the request (another Host, or a header a proxy reads as
// one), reframe it (framing and hop-by-hop headers, which warden's client sets), speak to a proxy
// on its way, or ask for a method warden refuses through a method-override header. Its value must
// be an HTTP field value (RFC 9110 5.5): no CR, LF, NUL or other control but tab, nothing past
// U+00FF (a client writing latin1 would turn U+010D U+010A into CR LF).
import { BadInputError, quote } from "../errors/index.ts";

/** The methods a plugin's fetch may use. */
export const FETCH_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

// Framing and hop-by-hop headers (RFC 9110 7.6.1, RFC 9112), and Host: warden's client writes them
// from the checked URL and the body it sends.
const CONNECTION_HEADERS = ["host", "connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "te", "trailer", "expect", "http2-settings"];
// Headers a reverse proxy or a framework reads as the host the request is for: the Host header
// under another name, a way round the host grant on a server that serves several names.
const HOST_HEADERS = ["forwarded", "x-forwarded-host", "x-forwarded-server", "x-host", "x-original-host"];
const FORBIDDEN: ReadonlySet<string> = new Set([...CONNECTION_HEADERS, ...HOST_HEADERS]);
// Headers for a proxy on the way (Proxy-Authorization, Proxy-Connection, ...): warden uses none.
const PROXY_PREFIX = "proxy-";
// Method overrides (as the web's fetch judges them): refused when they name a method fetch refuses.
const METHOD_OVERRIDES: ReadonlySet<string> = new Set(["x-http-method-override", "x-http-method", "x-method-override"]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// The first character that cannot be in a field value: a control other than tab, DEL, past U+00FF.
const NOT_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

function describeChar(c: string): string {
  const n = c.codePointAt(0) ?? 0;
  return `U+${n.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Refuse one request header a plugin set (BAD_INPUT saying which and why); a header that passes goes out as given. */
export function checkRequestHeader(api: string, name: string, value: string, pluginId: string): void {
  if (!TOKEN.test(name)) throw new BadInputError(`${api}: ${quote(name)} is not a valid header name (letters, digits and !#$%&'*+-.^_\`|~ only)`, { pluginId });
  const lower = name.toLowerCase();
  const bad = NOT_FIELD_VALUE.exec(value);
  if (bad) {
    throw new BadInputError(
      `${api}: the value of header ${name} contains ${describeChar(bad[0])}, which a header value cannot hold (a control character other than tab, or a character past U+00FF); encode it first`,
      { pluginId },
    );
  }
  if (FORBIDDEN.has(lower) || lower.startsWith(PROXY_PREFIX)) {
    throw new BadInputError(`${api}: header ${quote(name)} is set by warden or would send the request elsewhere, and cannot be set by a plugin`, { pluginId });
  }
  if (METHOD_OVERRIDES.has(lower)) {
    for (const part of value.split(",")) {
      const method = part.trim().toUpperCase();
      if (method !== "" && !FETCH_METHODS.has(method)) {
        throw new BadInputError(`${api}: header ${name} asks for method ${quote(method)}, which fetch does not send; use one of ${[...FETCH_METHODS].join(", ")}`, { pluginId });
      }
    }
  }
}
