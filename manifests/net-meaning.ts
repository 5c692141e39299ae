// What a net grant means as the bridge reads it (capabilities/net-rules.ts), for the operator: an
// IPv4-mapped IPv6 address is the IPv4 address it maps (`[::ffff:a9fe:a9fe]` is 169.254.169.254,
// the cloud metadata service), a mapped CIDR the IPv4 range it maps, and a name is matched without
// case or a final dot (`LOCALHOST.` is localhost, loopback included). The grant table and the
// growth lines of `grants diff` show this meaning beside the spelling, so a grant cannot look like
// less than it is. This layer cannot import capabilities/; a test compares the two readings.
import ipaddr from "ipaddr.js";

/** A net grant as the bridge reads it. */
export type NetMeaning = {
  /** The canonical rule: `127.0.0.1:80`, `10.0.0.0/8`, `[::1]`, `localhost`, `*.example.org:443`. */
  readonly rule: string;
  /** What kind of rule it is. */
  readonly kind: "address" | "cidr" | "name" | "wildcard";
  /** The address or the CIDR's base, shown as a URL host shows it; null for names. */
  readonly address: string | null;
  /** The special range of that address (loopback, private, linkLocal...), or null for a public one or a name. */
  readonly range: string | null;
  /** The port, or null for any port. */
  readonly port: number | null;
};

// IPv4-compatible IPv6 (::a.b.c.d) is special to the bridge though ipaddr.js calls it unicast.
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96");

function canonical(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!ipaddr.isValid(bare)) return null;
  const addr = ipaddr.parse(bare);
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) return (addr as ipaddr.IPv6).toIPv4Address();
  return addr;
}

function rangeOf(addr: ipaddr.IPv4 | ipaddr.IPv6): string | null {
  const range = addr.range();
  if (range === "unicast" && addr.kind() === "ipv6" && addr.match(IPV4_COMPATIBLE)) return "ipv4Compatible";
  return range === "unicast" ? null : range;
}

const show = (addr: ipaddr.IPv4 | ipaddr.IPv6): string => (addr.kind() === "ipv6" ? `[${addr.toString()}]` : addr.toString());

/** The meaning of a syntactically valid net grant (grant-syntax.ts checked it). */
export function netMeaning(rule: string): NetMeaning {
  const cidr = /^(\[[^\]]+\]|[0-9.]+)\/(\d+)$/.exec(rule);
  if (cidr) {
    const written = cidr[1] ?? "";
    const base = canonical(written);
    if (base !== null) {
      const bits = base.kind() === "ipv4" && written.startsWith("[") ? Math.max(0, Number(cidr[2]) - 96) : Number(cidr[2]);
      return { rule: `${show(base)}/${bits}`, kind: "cidr", address: show(base), range: rangeOf(base), port: null };
    }
  }
  const v6 = /^(\[[^\]]+\])(?::(\d+))?$/.exec(rule);
  const i = rule.lastIndexOf(":");
  const [host, port] = v6 ? [v6[1] ?? "", v6[2] === undefined ? null : Number(v6[2])] : i === -1 ? [rule, null] : [rule.slice(0, i), Number(rule.slice(i + 1))];
  const withPort = (h: string) => (port === null ? h : `${h}:${port}`);
  const addr = canonical(host);
  if (addr !== null) return { rule: withPort(show(addr)), kind: "address", address: show(addr), range: rangeOf(addr), port };
  const name = host.toLowerCase().replace(/\.$/, "");
  return { rule: withPort(name), kind: name.startsWith("*.") ? "wildcard" : "name", address: null, range: null, port };
}
