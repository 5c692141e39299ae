// Install the contract's globals and delete everything else that is not a standard ECMAScript
// intrinsic. WebAssembly (its memory ignores the isolate's limit), SharedArrayBuffer and Atomics
// (Atomics.wait blocks the thread) are removed on purpose.
const ALLOWED_GLOBALS = [
  "Object",
  "Function",
  "Array",
  "Number",
  "parseFloat",
  "parseInt",
  "Infinity",
  "NaN",
  "undefined",
  "Boolean",
  "String",
  "Symbol",
  "Date",
  "Promise",
  "RegExp",
  "Error",
  "AggregateError",
  "EvalError",
  "RangeError",
  "ReferenceError",
  "SyntaxError",
  "TypeError",
  "URIError",
  "globalThis",
  "JSON",
  "Math",
  "Intl",
  "ArrayBuffer",
  "Uint8Array",
  "Int8Array",
  "Uint16Array",
  "Int16Array",
  "Uint32Array",
  "Int32Array",
  "Float32Array",
  "Float64Array",
  "Uint8ClampedArray",
  "BigUint64Array",
  "BigInt64Array",
  "DataView",
  "Map",
  "BigInt",
  "Set",
  "WeakMap",
  "WeakSet",
  "Proxy",
  "Reflect",
  "FinalizationRegistry",
  "WeakRef",
  "decodeURI",
  "decodeURIComponent",
  "encodeURI",
  "encodeURIComponent",
  "escape",
  "unescape",
  "eval",
  "isFinite",
  "isNaN",
  "Iterator",
  "Warden",
  "console",
  "setTimeout",
  "clearTimeout",
  "URL",
  "URLSearchParams",
  "TextEncoder",
  "TextDecoder",
  "structuredClone",
  "crypto",
  "fetch",
  "Headers",
  "Response",
  "setInterval",
  "clearInterval",
  "queueMicrotask",
  "atob",
  "btoa",
  "Event",
  "EventTarget",
  "DOMException",
  "AbortController",
  "AbortSignal",
];
const installed = {
  Warden,
  console: consoleObject,
  setTimeout: setTimeoutImpl,
  clearTimeout: clearTimeoutImpl,
  URL,
  URLSearchParams,
  TextEncoder,
  TextDecoder,
  structuredClone: structuredCloneImpl,
  crypto: cryptoObject,
  fetch: fetchImpl,
  Headers,
  Response,
  setInterval: setIntervalImpl,
  clearInterval: clearTimeoutImpl,
  queueMicrotask: queueMicrotaskImpl,
  atob: atobImpl,
  btoa: btoaImpl,
  Event,
  EventTarget,
  DOMException,
  AbortController,
  AbortSignal,
};
{
  const names = ReflectOwnKeys(globalObject);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (typeof name === "string" && call(ArrayPrototypeIncludes, ALLOWED_GLOBALS, name)) continue;
    // V8 adds some globals as non-configurable (\`gc\` when the host runs with --expose-gc): they
    // belong to this isolate, not to the host; hide them as far as the engine lets us.
    try {
      delete globalObject[name];
    } catch {
      try {
        globalObject[name] = undefined;
      } catch {}
    }
  }
  const keys = ObjectKeys(installed);
  for (let i = 0; i < keys.length; i++) {
    ObjectDefineProperty(globalObject, keys[i], { value: installed[keys[i]], writable: true, configurable: true, enumerable: false });
  }
}

return { setModule, callEntry, callHandler, callHook, fireTimer, resolveOp, setConfig };
