// PURE network matching, after Deno's rules and their bypasses (D21-D25, N14 in docs/security.md).
// Names and addresses are distinct rules: a name rule covers names, an IP or CIDR rule covers
// addresses. Every address is canonicalised with ipaddr.js (IPv4-mapped IPv6 becomes IPv4) before
// it is compared, and the special ranges (loopback, private, link-local, metadata, unspecified...)
// are reachable only through a rule that names the address, a CIDR covering it, or `localhost`.
import ipaddr from "ipaddr.js";
import type { GrantList } from "./grants.ts";

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

/** One compiled net grant. */
export type NetRule =
  | { readonly kind: "name"; readonly source: string; readonly field: string; readonly host: string; readonly port: number | null }
  | { readonly kind: "wildcard"; readonly source: string; readonly field: string; readonly suffix: string; readonly port: number | null }
  | { readonly kind: "address"; readonly source: string; readonly field: string; readonly addr: Addr; readonly port: number | null }
  | { readonly kind: "cidr"; readonly source: string; readonly field: string; readonly range: [Addr, number]; readonly port: null };

/** Compiled net grants. `all` is a `true` grant: every public host, never the special ranges. */
export type NetRules = { readonly all: boolean; readonly field: string; readonly rules: readonly NetRule[] };

/** The rule that allowed something: as written, and where. */
export type RuleRef = { readonly rule: string; readonly source: string };

// Only ipaddr.js's "unicast" (public) range is reachable through a name or a `true` grant. Every
// other range it names (loopback, private, linkLocal with the cloud metadata address, uniqueLocal,
// unspecified, carrier-grade NAT, multicast, reserved, and the IPv6 forms that embed an IPv4
// address: NAT64, 6to4, Teredo) could lead into the host's own network, so it needs an explicit rule.
const PUBLIC_RANGE = "unicast";

/** Parse an address in any form ipaddr.js accepts, canonicalised (IPv4-mapped IPv6 → IPv4). */
export function canonicalAddress(text: string): Addr | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!ipaddr.isValid(bare)) return null;
  const addr = ipaddr.parse(bare);
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) return (addr as ipaddr.IPv6).toIPv4Address();
  return addr;
}

// IPv4-compatible IPv6 (::a.b.c.d, deprecated by RFC 4291) embeds an IPv4 address like the forms
// above, but ipaddr.js calls it "unicast": [::7f00:1] is 127.0.0.1 to a stack that still honours
// the form. Special like the others (:: and ::1 keep their own names).
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96");

/** The name of the special range an address is in (loopback, private, ...), or null for a public one. */
export function specialRange(addr: Addr): string | null {
  const range = addr.range();
  if (range === PUBLIC_RANGE && addr.kind() === "ipv6" && addr.match(IPV4_COMPATIBLE)) return "ipv4Compatible";
  return range === PUBLIC_RANGE ? null : range;
}

/** Format an address as a URL host would show it. */
export function showAddress(addr: Addr): string {
  return addr.kind() === "ipv6" ? `[${addr.toString()}]` : addr.toString();
}

function splitPort(rule: string): [string, number | null] {
  const v6 = /^(\[[^\]]+\])(?::(\d+))?$/.exec(rule);
  if (v6) return [v6[1] ?? "", v6[2] === undefined ? null : Number(v6[2])];
  const i = rule.lastIndexOf(":");
  if (i === -1) return [rule, null];
  return [rule.slice(0, i), Number(rule.slice(i + 1))];
}

function normName(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}

/** Compile net grants (their syntax was validated with the manifest). */
export function compileNetRules(grants: GrantList | undefined, field = "permissions.net"): NetRules {
  if (grants === undefined) return { all: false, field, rules: [] };
  if (grants === true) return { all: true, field, rules: [] };
  const rules: NetRule[] = [];
  grants.forEach((source, i) => {
    const f = `${field}[${i}]`;
    const cidr = /^(\[[^\]]+\]|[0-9.]+)\/(\d+)$/.exec(source);
    if (cidr) {
      const written = cidr[1] ?? "";
      const base = canonicalAddress(written);
      if (base === null) return;
      // An IPv4-mapped CIDR ([::ffff:10.0.0.0]/104) is matched as the IPv4 range it maps.
      const bits = base.kind() === "ipv4" && written.startsWith("[") ? Math.max(0, Number(cidr[2]) - 96) : Number(cidr[2]);
      rules.push({ kind: "cidr", source, field: f, range: [base, bits], port: null });
      return;
    }
    const [host, port] = splitPort(source);
    const addr = canonicalAddress(host);
    if (addr !== null) rules.push({ kind: "address", source, field: f, addr, port });
    else if (host.startsWith("*.")) rules.push({ kind: "wildcard", source, field: f, suffix: normName(host.slice(2)), port });
    else rules.push({ kind: "name", source, field: f, host: normName(host), port });
  });
  return { all: false, field, rules };
}

function portOk(rule: NetRule, port: number): boolean {
  return rule.port === null || rule.port === port;
}

/** The name rule that covers `hostname:port` (a name, not an address), or null. `*.x` covers x too. */
export function matchName(rules: NetRules, hostname: string, port: number): RuleRef | null {
  const name = normName(hostname);
  for (const r of rules.rules) {
    if (!portOk(r, port)) continue;
    if (r.kind === "name" && r.host === name) return { rule: r.source, source: r.field };
    if (r.kind === "wildcard" && (name === r.suffix || name.endsWith(`.${r.suffix}`))) return { rule: r.source, source: r.field };
  }
  return rules.all ? { rule: "true", source: rules.field } : null;
}

/** The address or CIDR rule that names `addr` (explicitly; `true` never counts), or null. */
export function matchAddressRule(rules: NetRules, addr: Addr, port: number): RuleRef | null {
  for (const r of rules.rules) {
    if (r.kind === "address" && portOk(r, port) && r.addr.kind() === addr.kind() && r.addr.toNormalizedString() === addr.toNormalizedString()) {
      return { rule: r.source, source: r.field };
    }
    if (r.kind === "cidr" && r.range[0].kind() === addr.kind() && addr.match(r.range)) return { rule: r.source, source: r.field };
  }
  return null;
}

/** Why one address may (rule) or may not (reason) be connected to, for a request to `hostname`. */
export type AddressDecision = { readonly ok: true; readonly via: RuleRef } | { readonly ok: false; readonly reason: string };

/**
 * Decide one address that `hostname` resolved to (or that was written literally, nameRule null).
 * A special address needs an explicit address/CIDR rule, or a `localhost` name rule for loopback.
 */
export function decideAddress(rules: NetRules, addr: Addr, port: number, nameRule: RuleRef | null, hostname: string | null): AddressDecision {
  const explicit = matchAddressRule(rules, addr, port);
  if (explicit) return { ok: true, via: explicit };
  const special = specialRange(addr);
  if (special !== null) {
    if (special === "loopback" && hostname !== null && normName(hostname) === "localhost" && nameRule !== null && nameRule.rule !== "true") {
      return { ok: true, via: nameRule };
    }
    const what = hostname === null ? showAddress(addr) : `${hostname} resolved to ${showAddress(addr)}, which`;
    return { ok: false, reason: `${what} is a ${special} address; only a rule naming that address, a CIDR covering it${special === "loopback" ? " or localhost" : ""} allows it` };
  }
  if (nameRule !== null) return { ok: true, via: nameRule };
  if (rules.all) return { ok: true, via: { rule: "true", source: rules.field } };
  return { ok: false, reason: `no rule in ${rules.field} covers ${showAddress(addr)}:${port}` };
}
