// Entry calls. The host enters `callEntry` synchronously; the result comes back through a
// "settle" dispatch when the entry's promise settles, which may be during this same crossing
// (microtasks run before it returns) or later, from a timer or a host operation.
const RESERVED_HOOKS = ["onLoad", "onUnload", "onConfigChange", "health"];
let moduleNamespace = null;

function setModule(ns) {
  moduleNamespace = ns;
  const entries = [];
  const hooks = [];
  const names = ObjectGetOwnPropertyNames(ns);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    let value;
    try { value = ns[name]; } catch { continue; }
    if (typeof value !== "function") continue;
    call(ArrayPrototypePush, call(ArrayPrototypeIncludes, RESERVED_HOOKS, name) ? hooks : entries, name);
  }
  return JSONStringify({ entries, hooks });
}

function settle(callId, ok, payload) {
  dispatch("settle", ok ? `{"id":${callId},"ok":true,"value":${payload}}` : JSONStringify({ id: callId, ok: false, error: payload }));
}

// An entry gets its input and a context: { caller } is who called it, "host" or a plugin id,
// stamped by the host (MAI-10), never taken from the input.
function callEntry(callId, name, inputJson, maxResultChars, contextJson) {
  const fn = moduleNamespace === null ? undefined : moduleNamespace[name];
  if (typeof fn !== "function") {
    settle(callId, false, { name: "EntryNotFound", code: "ENTRY_NOT_FOUND", message: `${name} is not an exported function` });
    return;
  }
  runCall(callId, fn, inputJson, maxResultChars, false, contextJson);
}

// Hooks with more than one argument (onConfigChange(next, previous)) get them as a JSON array.
function callHook(callId, name, argsJson) {
  const fn = moduleNamespace === null ? undefined : moduleNamespace[name];
  if (typeof fn !== "function") {
    settle(callId, true, "null");
    return;
  }
  let result;
  try {
    result = ReflectApply(fn, undefined, JSONParse(argsJson));
  } catch (e) {
    settle(callId, false, describeError(e));
    return;
  }
  then(PromiseResolve(result), (v) => {
    let text;
    try { text = serializeStrict(v, 1024 * 1024); } catch (e) { settle(callId, false, { name: "ResultInvalid", code: "RESULT_INVALID", message: safeString(e && e.message) }); return; }
    settle(callId, true, text);
  }, (e) => settle(callId, false, describeError(e)));
}

// A channel message for subscription `subId`: runs the plugin's handler as a call of its own (under
// the same CPU and time limits); what the handler returns is not sent anywhere.
function callHandler(callId, subId, messageJson) {
  const fn = call(MapPrototypeGet, channelHandlers, subId);
  if (typeof fn !== "function") {
    settle(callId, true, "null");
    return;
  }
  runCall(callId, fn, messageJson, 0, true);
}

function runCall(callId, fn, inputJson, maxResultChars, discardResult, contextJson) {
  let result;
  try {
    const args = inputJson === undefined ? [] : [JSONParse(inputJson)];
    if (contextJson !== undefined) {
      if (args.length === 0) args[0] = undefined;
      args[1] = ObjectFreeze(JSONParse(contextJson));
    }
    result = ReflectApply(fn, undefined, args);
  } catch (e) {
    settle(callId, false, describeError(e));
    return;
  }
  let settled = false;
  const onValue = (value) => {
    if (settled) return;
    settled = true;
    if (discardResult) {
      settle(callId, true, "null");
      return;
    }
    let text;
    try {
      text = serializeStrict(value, maxResultChars);
    } catch (e) {
      settle(callId, false, { name: "ResultInvalid", code: "RESULT_INVALID", message: safeString(e && e.message) });
      return;
    }
    settle(callId, true, text);
  };
  const onError = (e) => {
    if (settled) return;
    settled = true;
    settle(callId, false, describeError(e));
  };
  try {
    then(PromiseResolve(result), onValue, onError);
  } catch (e) {
    onError(e);
  }
}
