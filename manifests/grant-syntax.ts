// Pure syntax rules for the values a manifest may grant. Each validator returns null for a valid
// value, or a sentence saying what is wrong and what a valid value looks like.
import ipaddr from "ipaddr.js";
import { DEFAULTS } from "../defaults/index.ts";

const ID = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/;

/** Validate a plugin id: dot-separated lowercase segments, at least two, never a path (MAI-15). */
export function checkPluginId(id: string): string | null {
  // The same bound Warden.plugins.call puts on the id it is given, so every id a manifest can name is callable.
  if (id.length > DEFAULTS.values.pluginIdChars) return `must be at most ${DEFAULTS.values.pluginIdChars} characters`;
  if (id.includes("/") || id.includes("\\")) return "must not contain / or \\ (an id is never a path)";
  if (id.includes("..")) return "must not contain .. or empty segments";
  if (!ID.test(id)) {
    return 'expected dot-separated lowercase segments of [a-z0-9-], at least two (e.g. "acme.weather")';
  }
  return null;
}

/** Validate a read/write path grant. */
export function checkPathGrant(path: string): string | null {
  if (path.length === 0) return 'expected a non-empty path (e.g. "data/" or "/var/cache/weather")';
  if (path.includes("\0")) return "must not contain a NUL character";
  return null;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

/** Validate an env grant: an exact variable name, or a prefix ending in `*` (e.g. AWS_*). */
export function checkEnvGrant(name: string): string | null {
  // The same bound Warden.env.get puts on the name it is given: a longer grant would cover nothing.
  if (name.length > DEFAULTS.values.envNameChars) return `must be at most ${DEFAULTS.values.envNameChars} characters (the longest name Warden.env.get accepts)`;
  if (name === "*") return 'use true to grant every variable, not "*"';
  if (!ENV_NAME.test(name)) return 'expected a variable name such as "API_KEY" or a prefix such as "AWS_*"';
  return null;
}

/** Validate an exec grant: a command name looked up on PATH, or an absolute path. */
export function checkExecGrant(cmd: string): string | null {
  if (cmd.length === 0 || cmd.includes("\0")) return 'expected a command name ("git") or an absolute path';
  if (cmd.includes("/") && !cmd.startsWith("/")) return 'a command with a / must be an absolute path (e.g. "/usr/bin/git")';
  if (cmd.includes("\\")) return "must not contain \\";
  return null;
}

const TOPIC_SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Validate a channel topic pattern: 1–16 segments of [A-Za-z0-9_-], `*` for one, `**` last only. */
export function checkTopicPattern(topic: string): string | null {
  // The same bound the channel calls put on a topic or pattern: a longer grant would cover nothing.
  if (topic.length > DEFAULTS.values.topicChars) return `must be at most ${DEFAULTS.values.topicChars} characters (the longest topic Warden.channels accepts)`;
  const segments = topic.split(".");
  if (segments.length < 1 || segments.length > 16) return "expected 1 to 16 dot-separated segments";
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] ?? "";
    if (s === "*") continue;
    if (s === "**") {
      if (i !== segments.length - 1) return "** is allowed only as the last segment";
      continue;
    }
    if (!TOPIC_SEGMENT.test(s)) return 'each segment is [A-Za-z0-9_-]+, * or a final ** (e.g. "chat.*")';
  }
  return null;
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
const NUMERIC_LABEL = /^(0x[0-9a-f]*|[0-9]+)$/i;

function checkPort(port: string): string | null {
  if (!/^[0-9]{1,5}$/.test(port)) return `port "${port}" is not a number`;
  const n = Number(port);
  if (n < 1 || n > 65535) return `port ${n} is outside 1–65535`;
  return null;
}

function isCanonicalIPv4(host: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(host);
}

function checkHostName(host: string): string | null {
  const labels = host.replace(/\.$/, "").split(".");
  const last = labels[labels.length - 1] ?? "";
  // The WHATWG URL parser treats a host whose last label is numeric as an IPv4 address, so
  // "2130706433" or "0x7f.1" would silently mean 127.0.0.1: only the dotted-quad form is allowed.
  if (NUMERIC_LABEL.test(last)) {
    return isCanonicalIPv4(host) ? null : 'an IPv4 address must be written as four decimal parts (e.g. "127.0.0.1")';
  }
  if (!labels.every((l) => DNS_LABEL.test(l))) return 'expected a host name of letters, digits and - (e.g. "api.example.org")';
  return null;
}

/**
 * Validate a net grant: `host`, `host:port`, `*.domain`, dotted IPv4, bracketed IPv6 (with optional
 * port), or a CIDR (`10.0.0.0/8`, `[fd00::]/8`). No scheme, path, user info or port outside 1–65535.
 */
export function checkNetGrant(rule: string): string | null {
  const example = '(e.g. "api.example.org:443", "*.example.org", "10.0.0.0/8" or "[::1]:8080")';
  if (rule.length === 0) return `expected a host ${example}`;
  if (rule.includes("://") || (rule.includes("/") && !/^(\[[^\]]+\]|[0-9.]+)\/\d+$/.test(rule))) {
    if (/^(\[[^\]]+\]|[0-9.]+)\/[^/]*$/.test(rule)) return "a CIDR prefix length must be a number";
    return `expected a host, not a URL or path ${example}`;
  }
  if (rule.includes("@")) return `must not contain user info ${example}`;
  const cidr = /^(\[([^\]]+)\]|([0-9.]+))\/(\d+)$/.exec(rule);
  if (cidr) {
    const addr = cidr[2] ?? cidr[3] ?? "";
    const bits = Number(cidr[4]);
    if (cidr[2] !== undefined) {
      if (!ipaddr.IPv6.isValid(addr)) return `"${addr}" is not an IPv6 address`;
      if (bits > 128) return "an IPv6 prefix length is at most 128";
    } else {
      if (!isCanonicalIPv4(addr)) return 'an IPv4 CIDR must be written as four decimal parts (e.g. "10.0.0.0/8")';
      if (bits > 32) return "an IPv4 prefix length is at most 32";
    }
    return null;
  }
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(rule);
  if (v6) {
    if (!ipaddr.IPv6.isValid(v6[1] ?? "")) return `"${v6[1]}" is not an IPv6 address`;
    return v6[2] === undefined ? null : checkPort(v6[2]);
  }
  if (rule.split(":").length > 2) return 'an IPv6 address must be in brackets (e.g. "[::1]")';
  const [host = "", port] = rule.split(":");
  if (port !== undefined) {
    const bad = checkPort(port);
    if (bad) return bad;
  }
  if (host.startsWith("*.")) {
    const rest = host.slice(2);
    if (rest.includes("*")) return 'a wildcard is allowed only as the first label ("*.example.org")';
    if (NUMERIC_LABEL.test(rest.split(".").pop() ?? "")) return "a wildcard applies to domain names, not IP addresses";
    return checkHostName(rest);
  }
  if (host.includes("*")) return 'a wildcard is allowed only as the first label ("*.example.org")';
  return checkHostName(host);
}
