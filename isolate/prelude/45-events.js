// Events and abort signals, the web shapes npm libraries expect of a runtime: Event, EventTarget,
// DOMException, AbortController and AbortSignal (fetch's `signal`), plus queueMicrotask and
// atob/btoa. Plain JS over the prelude's captured intrinsics: a plugin that replaces
// EventTarget.prototype.dispatchEvent or a signal's methods changes its own view, never how an
// abort reaches a fetch. Only that crosses to the host ("op.cancel"), which stops the request.

const WeakMapCtor = WeakMap;
const WeakMapPrototypeGet = WeakMap.prototype.get;
const WeakMapPrototypeSet = WeakMap.prototype.set;
const DateNow = Date.now;

// The legacy numeric codes of the DOMException names a runtime like this one raises.
const DOM_EXCEPTION_CODES = {
  IndexSizeError: 1,
  HierarchyRequestError: 3,
  InvalidCharacterError: 5,
  NotSupportedError: 9,
  InvalidStateError: 11,
  SyntaxError: 12,
  NetworkError: 19,
  AbortError: 20,
  TimeoutError: 23,
  DataCloneError: 25,
};

const ObjectHasOwn = Object.hasOwn;

class DOMException extends ErrorCtor {
  constructor(message, name) {
    super(message === undefined ? "" : StringCtor(message));
    ObjectDefineProperty(this, "name", { value: name === undefined ? "Error" : StringCtor(name), writable: true, configurable: true, enumerable: false });
  }
  get code() {
    const name = this.name;
    return typeof name === "string" && ObjectHasOwn(DOM_EXCEPTION_CODES, name) ? DOM_EXCEPTION_CODES[name] : 0;
  }
}

const eventStates = new WeakMapCtor();
function eventState(event) {
  const s = call(WeakMapPrototypeGet, eventStates, event);
  if (s === undefined) throw new TypeErrorCtor("Illegal invocation: not an Event");
  return s;
}
class Event {
  constructor(type, init) {
    if (arguments.length === 0) throw new TypeErrorCtor("Event: the type is required");
    const options = init === undefined || init === null ? {} : init;
    call(WeakMapPrototypeSet, eventStates, this, {
      type: StringCtor(type),
      bubbles: !!options.bubbles,
      cancelable: !!options.cancelable,
      composed: !!options.composed,
      defaultPrevented: false,
      stopped: false,
      dispatching: false,
      target: null,
      currentTarget: null,
      timeStamp: DateNow(),
    });
  }
  get type() {
    return eventState(this).type;
  }
  get target() {
    return eventState(this).target;
  }
  get currentTarget() {
    return eventState(this).currentTarget;
  }
  get srcElement() {
    return eventState(this).target;
  }
  get bubbles() {
    return eventState(this).bubbles;
  }
  get cancelable() {
    return eventState(this).cancelable;
  }
  get composed() {
    return eventState(this).composed;
  }
  get defaultPrevented() {
    return eventState(this).defaultPrevented;
  }
  get timeStamp() {
    return eventState(this).timeStamp;
  }
  get isTrusted() {
    return false;
  }
  get eventPhase() {
    return eventState(this).dispatching ? 2 : 0;
  }
  preventDefault() {
    const s = eventState(this);
    if (s.cancelable) s.defaultPrevented = true;
  }
  stopImmediatePropagation() {
    eventState(this).stopped = true;
  }
  stopPropagation() {
    eventState(this);
  }
  composedPath() {
    const s = eventState(this);
    return s.dispatching && s.currentTarget !== null ? [s.currentTarget] : [];
  }
}

// Listeners per target: type -> list of { listener, capture, once, removed }. A list is replaced,
// never changed in place, so a dispatch in progress walks the list it started with.
const listenerMaps = new WeakMapCtor();
function listenersOf(target) {
  const map = call(WeakMapPrototypeGet, listenerMaps, target);
  if (map === undefined) throw new TypeErrorCtor("Illegal invocation: not an EventTarget");
  return map;
}
function captureOf(options) {
  return typeof options === "boolean" ? options : options !== null && typeof options === "object" && !!options.capture;
}
function addListener(target, type, listener, options) {
  const map = listenersOf(target);
  if (listener === null || listener === undefined) return;
  if (typeof listener !== "function" && typeof listener !== "object") throw new TypeErrorCtor("addEventListener: the listener must be a function or an object with handleEvent");
  const key = StringCtor(type);
  const capture = captureOf(options);
  const once = options !== null && typeof options === "object" && !!options.once;
  const signal = options !== null && typeof options === "object" ? options.signal : undefined;
  if (signal !== undefined && signal !== null && signalStateOf(signal).aborted) return;
  const list = call(MapPrototypeGet, map, key) || [];
  for (let i = 0; i < list.length; i++) if (list[i].listener === listener && list[i].capture === capture) return;
  const next = call(ArrayPrototypeSlice, list);
  append(next, { listener, capture, once, removed: false });
  call(MapPrototypeSet, map, key, next);
  if (signal !== undefined && signal !== null) onAbortSignal(signal, () => removeListener(target, key, listener, capture));
}
function removeListener(target, type, listener, capture) {
  const map = listenersOf(target);
  const key = StringCtor(type);
  const list = call(MapPrototypeGet, map, key);
  if (list === undefined) return;
  const next = [];
  for (let i = 0; i < list.length; i++) {
    if (list[i].listener === listener && list[i].capture === capture) list[i].removed = true;
    else append(next, list[i]);
  }
  if (next.length === 0) call(MapPrototypeDelete, map, key);
  else call(MapPrototypeSet, map, key, next);
}
function reportListenerError(e) {
  host("log", { level: "error", text: `uncaught exception in an event listener: ${describeError(e).message}` });
}
function dispatchTo(target, event) {
  const map = listenersOf(target);
  const s = eventState(event);
  if (s.dispatching) throw new DOMException("the event is already being dispatched", "InvalidStateError");
  s.dispatching = true;
  s.stopped = false;
  s.target = target;
  s.currentTarget = target;
  const list = call(MapPrototypeGet, map, s.type) || [];
  try {
    for (let i = 0; i < list.length && !s.stopped; i++) {
      const entry = list[i];
      if (entry.removed) continue;
      if (entry.once) removeListener(target, s.type, entry.listener, entry.capture);
      // As in browsers, a listener that throws is reported and the others still run.
      try {
        const l = entry.listener;
        if (typeof l === "function") ReflectApply(l, target, [event]);
        else ReflectApply(l.handleEvent, l, [event]);
      } catch (e) {
        reportListenerError(e);
      }
    }
  } finally {
    s.dispatching = false;
    s.currentTarget = null;
  }
  return !s.defaultPrevented;
}

class EventTarget {
  constructor() {
    call(WeakMapPrototypeSet, listenerMaps, this, new MapCtor());
  }
  addEventListener(type, listener, options) {
    addListener(this, type, listener, options);
  }
  removeEventListener(type, listener, options) {
    listenersOf(this);
    if (listener === null || listener === undefined) return;
    removeListener(this, type, listener, captureOf(options));
  }
  dispatchEvent(event) {
    if (call(WeakMapPrototypeGet, eventStates, event) === undefined) throw new TypeErrorCtor("dispatchEvent: expected an Event");
    return dispatchTo(this, event);
  }
}

// Abort signals. `algorithms` are warden's own reactions to an abort (a fetch to cancel, a
// dependent signal to abort), run before the "abort" event, in the order they were added.
const signalStates = new WeakMapCtor();
let mintingSignal = false;
function signalStateOf(signal) {
  const s = call(WeakMapPrototypeGet, signalStates, signal);
  if (s === undefined) throw new TypeErrorCtor("expected an AbortSignal");
  return s;
}
function newSignal() {
  mintingSignal = true;
  try {
    return new AbortSignal();
  } finally {
    mintingSignal = false;
  }
}
/** Run `algorithm` when `signal` aborts; returns the function that forgets it. */
function onAbortSignal(signal, algorithm) {
  const s = signalStateOf(signal);
  const entry = { run: algorithm, live: true };
  append(s.algorithms, entry);
  return () => {
    entry.live = false;
  };
}
function abortSignal(signal, reason) {
  const s = signalStateOf(signal);
  if (s.aborted) return;
  s.aborted = true;
  s.reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
  const algorithms = s.algorithms;
  s.algorithms = [];
  for (let i = 0; i < algorithms.length; i++) {
    if (!algorithms[i].live) continue;
    try {
      algorithms[i].run();
    } catch (e) {
      reportListenerError(e);
    }
  }
  dispatchTo(signal, new Event("abort"));
}

class AbortSignal extends EventTarget {
  constructor() {
    if (!mintingSignal) throw new TypeErrorCtor("Illegal constructor: use new AbortController().signal, AbortSignal.abort(), AbortSignal.timeout() or AbortSignal.any()");
    super();
    call(WeakMapPrototypeSet, signalStates, this, { aborted: false, reason: undefined, algorithms: [], onabort: null, handlerAdded: false });
  }
  get aborted() {
    return signalStateOf(this).aborted;
  }
  get reason() {
    return signalStateOf(this).reason;
  }
  throwIfAborted() {
    const s = signalStateOf(this);
    if (s.aborted) throw s.reason;
  }
  get onabort() {
    return signalStateOf(this).onabort;
  }
  set onabort(fn) {
    const s = signalStateOf(this);
    s.onabort = typeof fn === "function" ? fn : null;
    // An event handler attribute is one listener, in the place where it was first set.
    if (!s.handlerAdded) {
      s.handlerAdded = true;
      addListener(this, "abort", (event) => {
        if (s.onabort !== null) ReflectApply(s.onabort, this, [event]);
      });
    }
  }
  /** A signal already aborted with `reason`. */
  static abort(reason) {
    const signal = newSignal();
    abortSignal(signal, reason);
    return signal;
  }
  /** A signal that aborts with a TimeoutError after `ms` (one of the plugin's timers). */
  static timeout(ms) {
    const delay = +ms;
    if (!NumberIsFinite(delay) || delay < 0) throw new TypeErrorCtor("AbortSignal.timeout: expected a non-negative number of milliseconds");
    const signal = newSignal();
    setTimeoutImpl(() => abortSignal(signal, new DOMException("The operation timed out.", "TimeoutError")), delay);
    return signal;
  }
  /** A signal that aborts when the first of `signals` does, with its reason. */
  static any(signals) {
    const list = [];
    for (const s of signals) {
      signalStateOf(s);
      append(list, s);
    }
    const signal = newSignal();
    for (let i = 0; i < list.length; i++) {
      if (signalStateOf(list[i]).aborted) {
        abortSignal(signal, signalStateOf(list[i]).reason);
        return signal;
      }
    }
    for (let i = 0; i < list.length; i++) {
      const source = list[i];
      onAbortSignal(source, () => abortSignal(signal, signalStateOf(source).reason));
    }
    return signal;
  }
}

const controllerSignals = new WeakMapCtor();
function controllerSignal(controller) {
  const signal = call(WeakMapPrototypeGet, controllerSignals, controller);
  if (signal === undefined) throw new TypeErrorCtor("Illegal invocation: not an AbortController");
  return signal;
}
class AbortController {
  constructor() {
    call(WeakMapPrototypeSet, controllerSignals, this, newSignal());
  }
  get signal() {
    return controllerSignal(this);
  }
  abort(reason) {
    abortSignal(controllerSignal(this), reason);
  }
}

/** `signal` as fetch takes it: undefined/null for none, else a real AbortSignal (TypeError otherwise). */
function fetchSignal(signal) {
  if (signal === undefined || signal === null) return null;
  if (call(WeakMapPrototypeGet, signalStates, signal) === undefined) throw new TypeErrorCtor("fetch: init.signal must be an AbortSignal");
  return signal;
}

// queueMicrotask: the callback runs in this crossing's microtask checkpoint, as a promise reaction
// would; what it throws is reported, as for a timer.
function queueMicrotaskImpl(callback) {
  if (typeof callback !== "function") throw new TypeErrorCtor("queueMicrotask: the callback must be a function");
  then(PromiseResolve(undefined), () => {
    try {
      callback();
    } catch (e) {
      host("log", { level: "error", text: `uncaught exception in a microtask: ${describeError(e).message}` });
    }
  });
}

// atob/btoa: base64 of "binary strings" (one character per byte), as browsers define them.
function btoaImpl(data) {
  if (arguments.length === 0) throw new TypeErrorCtor("btoa: 1 argument required");
  const text = StringCtor(data);
  const bytes = new Uint8ArrayCtor(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = call(StringPrototypeCharCodeAt, text, i);
    if (c > 255) throw new DOMException("btoa: the string contains characters outside of the Latin1 range", "InvalidCharacterError");
    bytes[i] = c;
  }
  return base64Encode(bytes);
}
function atobImpl(data) {
  if (arguments.length === 0) throw new TypeErrorCtor("atob: 1 argument required");
  const text = StringCtor(data);
  // The forgiving-base64 decode: ASCII whitespace is dropped, padding is optional but never wrong.
  let clean = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== " " && ch !== "\t" && ch !== "\n" && ch !== "\f" && ch !== "\r") clean += ch;
  }
  if (clean.length % 4 === 0 && clean.length > 0 && clean[clean.length - 1] === "=") {
    clean = call(StringPrototypeSlice, clean, 0, clean[clean.length - 2] === "=" ? -2 : -1);
  }
  const bad = () => new DOMException("atob: the string to be decoded is not correctly encoded", "InvalidCharacterError");
  if (clean.length % 4 === 1) throw bad();
  for (let i = 0; i < clean.length; i++) if (call(StringPrototypeIndexOf, B64, clean[i]) === -1) throw bad();
  const bytes = base64Decode(clean);
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    const end = MathMin(bytes.length, i + 8192);
    const codes = [];
    for (let j = i; j < end; j++) append(codes, bytes[j]);
    out += ReflectApply(StringFromCharCode, undefined, codes);
  }
  return out;
}
