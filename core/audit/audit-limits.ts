// The bounds on what one plugin can make the host write to the audit log, as the audit code names
// them: DEFAULTS.audit (defaults/index.ts), where each bound says why it is what it is.
import { DEFAULTS } from "../../defaults/index.ts";

/** Bounds on audit records caused by one plugin (DEFAULTS.audit). */
export const AUDIT_LIMITS = DEFAULTS.audit;

/** The shape of AUDIT_LIMITS, for tests and hosts that pass their own. */
export type AuditLimits = { readonly [K in keyof typeof AUDIT_LIMITS]: number };
