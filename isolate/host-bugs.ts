// A bug in warden's own code met while serving a plugin (a handler of the isolate's requests, a
// host operation that throws instead of rejecting, the delivery of an answer) is warden's fault,
// and must read as such: its stack goes to the log, and the plugin's calls in flight fail with an
// error that names warden, under an existing code (PLUGIN_ERROR, docs/errors.md) with
// details.wardenBug set. It is not a limit: the isolate is not to blame and stays in service.
// Before this, a catch-all answered such a request as "not served" and the plugin could wait for
// an answer that never came, until its TIMEOUT disposed the isolate.
import { PluginError } from "../errors/index.ts";

/** What the isolate is told when warden failed to serve its request of `kind`. */
export function hostBugAnswer(kind: string): string {
  // A Warden.* call rejects with an error that says whose fault it is; other requests get the
  // answer of a request that was not served (the calls waiting on them are failed by the host).
  if (kind === "op")
    return JSON.stringify({
      ok: false,
      error: { name: "PluginError", code: "PLUGIN_ERROR", message: "warden internal error: the host failed to serve this Warden call (a bug in warden, not in the plugin)" },
    });
  return JSON.stringify({ ok: false });
}

/** The log line for a bug in warden met while `where` for plugin `pluginId`: says whose fault it is, with the stack. */
export function hostBugLogText(pluginId: string, where: string, error: unknown): string {
  const stack = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  return `warden internal error (a bug in warden, not in plugin ${pluginId}) while ${where}: ${stack}`;
}

/** The error a call of plugin `pluginId` named `name` fails with when a bug in warden broke it. */
export function hostBugError(pluginId: string, name: string, error: unknown): PluginError {
  const message = error instanceof Error ? error.message : String(error);
  return new PluginError(`plugin ${pluginId}: ${name}() failed because of a bug in warden, not in the plugin (warden internal error: ${message}); its stack is in the log`, {
    pluginId,
    entry: name,
    wardenBug: true,
  });
}
