// Which plugins may share an engine. With the host brokering every capability, a compromised engine
// can act only with its tenants' grants, through the host's checks. So a plugin whose grants could
// hurt the host's machine or reach inside its network (exec, write, net to a non-public address)
// gets an engine of its own, and so does a plugin that has already brought an engine down or held
// its one thread with a memory or CPU limit (plugin-slot.ts, sharedThreadReason): a co-tenant must
// never inherit either. Everything else shares, up to maxPluginsPerEngine.
import { DEFAULTS } from "../../defaults/index.ts";
import { compileNetRules, specialRange, type Grants } from "../../capabilities/index.ts";

/** Plugins per shared engine (DEFAULTS.host.maxPluginsPerEngine, where the measurement behind 64 is). */
export const DEFAULT_MAX_PLUGINS_PER_ENGINE = DEFAULTS.host.maxPluginsPerEngine;

/** Engines a host keeps started ahead, without tenants (DEFAULTS.host.spareEngines). */
export const DEFAULT_SPARE_ENGINES = DEFAULTS.host.spareEngines;

/** How long after its first engine a pool starts its spare (hosts that live a moment never pay for one), ms. */
export const SPARE_ENGINE_DELAY_MS = 500;

function granted(list: unknown): boolean {
  return list === true || (Array.isArray(list) && list.length > 0);
}

/** Why a plugin with these grants needs an engine of its own, or null if it may share. */
export function ownEngineReason(grants: Grants): string | null {
  if (granted(grants.exec)) return "it may run commands (permissions.exec)";
  if (granted(grants.write)) return "it may write files (permissions.write)";
  if (Array.isArray(grants.net)) {
    const rules = compileNetRules(grants.net);
    for (const rule of rules.rules) {
      if (rule.kind === "name" && (rule.host === "localhost" || rule.host.endsWith(".localhost"))) return `it may reach the host's own network (${rule.source})`;
      if (rule.kind === "address" && specialRange(rule.addr) !== null) return `it may reach a non-public address (${rule.source})`;
      // A range may hold special blocks anywhere inside it (64.0.0.0/2 holds 127.0.0.0/8): any CIDR counts.
      if (rule.kind === "cidr") return `it may reach a range of addresses (${rule.source})`;
    }
  }
  return null;
}
