// What a plugin calling another (Warden.plugins.call) learns when the call fails. The callee's own
// answer reaches it as it was: what the callee threw, the limits its call hit. But the callee's
// state is the operator's business (host.status()), and the callee's handle says it in words meant
// for the operator: a quarantine names the last failure ("db password is hunter2 at /srv/..."), a
// restart in progress the failure it restarts after, an engine restart the co-tenant that caused it
// (another plugin of the host, which the caller may not know of). The caller gets the state only,
// under the same code, as it does for a callee that is not loaded (host.ts).
import { EngineRestartedError, isWardenError, QuarantinedError, TimeoutError } from "../../errors/index.ts";

/** The error a plugin `caller` sees when its call of `target`.`entry`() failed with `e`. */
export function calleeErrorForCaller(e: unknown, caller: string, target: string, entry: string): unknown {
  if (!isWardenError(e)) return e;
  const details = { pluginId: caller, target, entry };
  if (e.code === "QUARANTINED") {
    const until = typeof e.details["until"] === "string" ? ` until ${e.details["until"]}` : "";
    return new QuarantinedError(
      `Warden.plugins.call(): plugin ${target} is not available (quarantined${until}); ${caller} cannot call ${target}.${entry}() until the operator releases it or its quarantine ends`,
      { ...details, state: "quarantined" },
    );
  }
  if (e.code === "ENGINE_RESTARTED") {
    return new EngineRestartedError(`Warden.plugins.call(): plugin ${target} was restarted while ${target}.${entry}() was in flight, through no fault of its own; retry the call`, details);
  }
  if (e.code === "TIMEOUT" && e.details["restarting"] === true) {
    return new TimeoutError(`Warden.plugins.call(): plugin ${target} is restarting and was not back in time; ${target}.${entry}() was not run`, { ...details, state: "restarting" });
  }
  return e;
}
