// Entry calls. The host enters `callEntry` synchronously; the result comes back through a
// "settle" dispatch when the entry's promise settles, which may be during this same crossing
// (microtasks run before it returns) or later, from a timer or a host operation.
const RESERVED_HOOKS = ["onLoad", "onUnload", "onConfigChange", "health"];
const MAX_EXPORTS_CHARS = 64 * 1024 * 1024;
let moduleNamespace = null;

function setModule(ns) {
  moduleNamespace = ns;
  const entries = [];
  const hooks = [];
  const names = ObjectGetOwnPropertyNames(ns);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    let value;
    try {
      value = ns[name];
    } catch {
      continue;
    }
    if (typeof value !== "function") continue;
    append(call(ArrayPrototypeIncludes, RESERVED_HOOKS, name) ? hooks : entries, name);
  }
  // Written without JSON.stringify, which would ask the lists for a toJSON the plugin's top level
  // may have put on Array.prototype.
  return serializeStrict({ entries, hooks }, MAX_EXPORTS_CHARS);
}

// A call that settles while its entry crossing is still running hands its result back as the
// crossing's return value, saving a nested crossing; later settles go through dispatch.
let returnSlot = null;

// The text is `<callId> <1|0> <JSON>`: the id and the outcome are written by this code from numbers,
// ahead of anything the plugin's value could contain, so no value can claim to settle another call.
function settle(callId, ok, payload) {
  const text = ok ? `${callId} 1 ${payload}` : `${callId} 0 ${writeRecord(payload)}`;
  if (returnSlot !== null && returnSlot.id === callId && returnSlot.text === null) {
    returnSlot.text = text;
    return;
  }
  dispatch("settle", text);
}

function returning(callId, run) {
  const slot = { id: callId, text: null };
  returnSlot = slot;
  try {
    run();
  } finally {
    returnSlot = null;
  }
  return slot.text === null ? undefined : slot.text;
}

// An entry gets its input and a context: { caller } is who called it, "host" or a plugin id,
// stamped by the host (MAI-10), never taken from the input.
function callEntry(callId, name, inputJson, maxResultChars, caller) {
  return returning(callId, () => {
    const fn = moduleNamespace === null ? undefined : moduleNamespace[name];
    if (typeof fn !== "function") {
      settle(callId, false, { name: "EntryNotFound", code: "ENTRY_NOT_FOUND", message: `${name} is not an exported function` });
      return;
    }
    runCall(callId, fn, inputJson, maxResultChars, false, caller);
  });
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
  then(
    PromiseResolve(result),
    (v) => {
      let text;
      try {
        text = serializeStrict(v, 1024 * 1024);
      } catch (e) {
        settle(callId, false, { name: "ResultInvalid", code: "RESULT_INVALID", message: safeString(e && e.message) });
        return;
      }
      settle(callId, true, text);
    },
    (e) => settle(callId, false, describeError(e)),
  );
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

function runCall(callId, fn, inputJson, maxResultChars, discardResult, caller) {
  let result;
  try {
    const args = inputJson === undefined ? [] : [JSONParse(inputJson)];
    if (caller !== undefined) {
      if (args.length === 0) args[0] = undefined;
      args[1] = ObjectFreeze({ caller: StringCtor(caller) });
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
    // A plain value settles now, in this crossing; anything that may be a thenable (the plugin's
    // own code decides through `then`) goes through a promise, as await would.
    if (result === null || (typeof result !== "object" && typeof result !== "function") || typeof result.then !== "function") onValue(result);
    else then(PromiseResolve(result), onValue, onError);
  } catch (e) {
    onError(e);
  }
}
