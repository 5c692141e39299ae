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
function host(kind, payload) {
  return dispatch(kind, JSONStringify(payload));
}
