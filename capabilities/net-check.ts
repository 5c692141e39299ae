// The net check, and the only maker of CheckedTarget. One hop of a fetch: the URL's name checked,
// resolved ONCE, and every resolved address checked; the HTTP port connects to nothing but the
// addresses of a CheckedTarget, so the addresses that were checked are the ones connected to.
// Code outside this module cannot construct one.
import { BadInputError, quote } from "../errors/index.ts";
import { cachedDecision } from "./decision-cache.ts";
import { OperationError } from "./operation-error.ts";
import { canonicalAddress, decideAddress, matchName, showAddress, type NetRules, type RuleRef } from "./net-rules.ts";

/** One resolved address of a host name. */
export type ResolvedAddress = { readonly address: string; readonly family: 4 | 6 };

/** Name resolution: asked once per request hop; the answer is what the connection uses. */
export interface DnsPort {
  lookup(hostname: string): Promise<ResolvedAddress[]>;
}

// The one way to make a CheckedTarget; assigned by the class's static block, reachable only here.
let mint: (url: URL, port: number, addresses: readonly ResolvedAddress[], via: RuleRef) => CheckedTarget;

/** A URL hop that passed every check, with the addresses it may connect to. Only this module makes one. */
export class CheckedTarget {
  readonly #brand = true;
  /** The URL (its host stays the Host header and the TLS server name). */
  readonly url: URL;
  /** The port connected to (the URL's, or its scheme's default). */
  readonly port: number;
  /** The checked addresses the connection may go to, in order: every address the name resolved to, each allowed. */
  readonly addresses: readonly ResolvedAddress[];
  /** The manifest rule that granted it, as written. */
  readonly rule: string;
  /** Where that rule is in plugin.json (permissions.net[0]). */
  readonly source: string;
  private constructor(url: URL, port: number, addresses: readonly ResolvedAddress[], via: RuleRef) {
    this.url = url;
    this.port = port;
    this.addresses = Object.freeze([...addresses]);
    this.rule = via.rule;
    this.source = via.source;
  }
  static {
    mint = (url, port, addresses, via) => new CheckedTarget(url, port, addresses, via);
  }
  /** True for instances made by this module (a structural look-alike is not a CheckedTarget). */
  static is(value: unknown): value is CheckedTarget {
    return typeof value === "object" && value !== null && #brand in value;
  }
}

/** The answer for one hop: the checked target, or what was refused (`resolved`) and why. */
export type TargetDecision =
  | { readonly ok: true; readonly target: CheckedTarget }
  | {
      readonly ok: false;
      readonly resolved: string;
      readonly reason: string;
      /**
       * What the plugin is told instead of `resolved` and `reason`, when they are what a DNS answer
       * said: a refused address of a granted name would otherwise map the host's internal network
       * (db.internal is 10.0.3.7). The audit record keeps the address.
       */
      readonly hidden?: string;
    };

/** The net check of one plugin. */
export type TargetCheck = {
  /**
   * Check one hop: scheme and user info (BAD_INPUT), the name rule, one resolution (a failure is
   * an OperationError), every address. `signal` stops a hop whose call ran out during resolution.
   */
  decide(api: string, url: URL, signal: AbortSignal): Promise<TargetDecision>;
};

/** The port `url` connects to. */
function defaultPort(url: URL): number {
  return url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

/** Build the net check of one plugin over its compiled rules. */
export function createTargetCheck(rules: NetRules, dns: DnsPort, pluginId: string): TargetCheck {
  const nameDecision = cachedDecision((key) => {
    const i = key.lastIndexOf(":");
    return matchName(rules, key.slice(0, i), Number(key.slice(i + 1)));
  });
  return {
    async decide(api, url, signal) {
      const shown = url.href;
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new BadInputError(`${api}: only http: and https: URLs can be fetched, not ${quote(url.protocol)} (${quote(shown)})`, { pluginId, permission: "net" });
      }
      if (url.username !== "" || url.password !== "") {
        throw new BadInputError(`${api}: ${quote(shown)} has user info; send credentials in a header instead`, { pluginId });
      }
      const port = defaultPort(url);
      const literal = canonicalAddress(url.hostname);
      if (literal !== null) {
        const d = decideAddress(rules, literal, port, null, null);
        if (!d.ok) return { ok: false, resolved: `${showAddress(literal)}:${port}`, reason: d.reason };
        return { ok: true, target: mint(url, port, [{ address: literal.toString(), family: literal.kind() === "ipv6" ? 6 : 4 }], d.via) };
      }
      const nameRule = nameDecision(`${url.hostname}:${port}`);
      if (nameRule === null) return { ok: false, resolved: `${url.hostname}:${port}`, reason: `no rule in permissions.net covers ${url.hostname}:${port}` };
      let answers: ResolvedAddress[];
      try {
        answers = await dns.lookup(url.hostname);
      } catch (e) {
        throw new OperationError("ConnectionFailed", `${api}: ${quote(shown)}: cannot resolve ${url.hostname} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
      }
      if (signal.aborted) throw new OperationError("Timeout", `${api}: ${quote(shown)}: the call's time ran out`);
      if (answers.length === 0) throw new OperationError("ConnectionFailed", `${api}: ${quote(shown)}: ${url.hostname} has no addresses`);
      const checked: ResolvedAddress[] = [];
      let via: RuleRef | null = null;
      // Built only for a refusal: this loop runs on every fetch.
      const hidden = (): string =>
        `permissions.net allows ${url.hostname}:${port}, but it resolves to an address no rule allows (a loopback, private or other non-public address needs a rule that names it); the address is in the host's audit log`;
      for (const a of answers) {
        const addr = canonicalAddress(a.address);
        if (addr === null) return { ok: false, resolved: a.address, reason: `${url.hostname} resolved to something that is not an address`, hidden: hidden() };
        const d = decideAddress(rules, addr, port, nameRule, url.hostname);
        // Every address must be allowed: the client must not be able to fall back to another one.
        if (!d.ok) return { ok: false, resolved: `${showAddress(addr)}:${port}`, reason: d.reason, hidden: hidden() };
        checked.push({ address: addr.toString(), family: addr.kind() === "ipv6" ? 6 : 4 });
        via ??= d.via;
      }
      return { ok: true, target: mint(url, port, checked, via as RuleRef) };
    },
  };
}
