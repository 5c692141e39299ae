// Fragment of the prelude function body (see isolate/prelude.ts). Runs before any plugin code and
// captures every intrinsic the prelude uses, so a plugin that later replaces JSON.stringify or
// Promise.prototype.then cannot change how warden marshals values or settles calls.
"use strict";
const ObjectFreeze = Object.freeze;
const ObjectKeys = Object.keys;
const ObjectDefineProperty = Object.defineProperty;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectGetOwnPropertyNames = Object.getOwnPropertyNames;
const ObjectPrototype = Object.prototype;
const ArrayIsArray = Array.isArray;
const ArrayPrototypeJoin = Array.prototype.join;
const ArrayPrototypeMap = Array.prototype.map;
const ArrayPrototypeSlice = Array.prototype.slice;
const ArrayPrototypeIncludes = Array.prototype.includes;
const JSONParse = JSON.parse;
const JSONStringify = JSON.stringify;
const ReflectApply = Reflect.apply;
const ReflectOwnKeys = Reflect.ownKeys;
const PromiseCtor = Promise;
const PromiseResolve = Promise.resolve.bind(Promise);
const PromiseReject = Promise.reject.bind(Promise);
const PromisePrototypeThen = Promise.prototype.then;
const StringCtor = String;
const StringPrototypeSplit = String.prototype.split;
const StringPrototypeIncludes = String.prototype.includes;
const StringPrototypeSlice = String.prototype.slice;
const StringPrototypeIndexOf = String.prototype.indexOf;
const StringPrototypeCharCodeAt = String.prototype.charCodeAt;
const StringFromCharCode = String.fromCharCode;
const NumberIsFinite = Number.isFinite;
const MathFloor = Math.floor;
const MathMin = Math.min;
const ErrorCtor = Error;
const TypeErrorCtor = TypeError;
const RangeErrorCtor = RangeError;
const MapCtor = Map;
const MapPrototypeGet = Map.prototype.get;
const MapPrototypeSet = Map.prototype.set;
const MapPrototypeHas = Map.prototype.has;
const MapPrototypeDelete = Map.prototype.delete;
const SetCtor = Set;
const Uint8ArrayCtor = Uint8Array;
const ArrayBufferCtor = ArrayBuffer;
const ArrayBufferIsView = ArrayBuffer.isView;
const globalObject = globalThis;

function call(fn, thisArg, ...args) {
  return ReflectApply(fn, thisArg, args);
}
// Array.prototype.push assigns through [[Set]], which runs any setter a plugin installed on
// Array.prototype for that index; defining the property does not.
function append(array, value) {
  ObjectDefineProperty(array, array.length, { value, writable: true, enumerable: true, configurable: true });
}
function then(promise, onFulfilled, onRejected) {
  return ReflectApply(PromisePrototypeThen, promise, [onFulfilled, onRejected]);
}
// The prelude's own requests and error descriptors are flat records, written field by field:
// JSON.stringify asks every object it meets for a toJSON method, which a plugin can put on
// Object.prototype, and so could rewrite what the prelude decided (a failed call's code, a timer's
// id) after it decided it. A string, number, boolean or null is never asked.
function writeRecord(record) {
  let out = "";
  const keys = ReflectOwnKeys(record);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const value = record[key];
    if (typeof key !== "string" || value === undefined) continue;
    const text = value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? JSONStringify(value) : JSONStringify(safeString(value));
    out += `${out === "" ? "" : ","}${JSONStringify(key)}:${text}`;
  }
  return `{${out}}`;
}
function host(kind, payload) {
  return dispatch(kind, writeRecord(payload));
}
