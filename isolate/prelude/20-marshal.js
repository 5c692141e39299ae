// Strict JSON serialisation of entry results. JSON.stringify would quietly turn NaN into null, a
// Date into a string and drop functions; the contract says those are RESULT_INVALID, so this
// walks the value itself and names the first offending path.
function describeKind(v) {
  if (typeof v === "bigint") return "a BigInt";
  if (typeof v === "symbol") return "a symbol";
  if (typeof v === "function") return "a function";
  if (typeof v === "number") return v !== v ? "NaN" : "an infinite number";
  const proto = ObjectGetPrototypeOf(v);
  const ctor = proto !== null && proto !== undefined ? proto.constructor : undefined;
  const name = typeof ctor === "function" && typeof ctor.name === "string" && ctor.name !== "" ? ctor.name : "object";
  return `a ${name}`;
}

function invalid(path, what) {
  const err = new ErrorCtor(`${path}: ${what} is not JSON-compatible; return null, booleans, finite numbers, strings, arrays and plain objects`);
  err.code = "RESULT_INVALID";
  throw err;
}

function serializeStrict(value, maxChars) {
  // The text is built by string concatenation and the ancestors kept in a Map through captured
  // methods: an array's push or a Set's methods would run into setters and replacements the
  // plugin may have installed on Array.prototype or Set.prototype.
  let out = "";
  const ancestors = new MapCtor();
  function emit(s) {
    if (out.length + s.length > maxChars) {
      const err = new ErrorCtor(`the result is larger than the limit of ${maxChars} characters; return less data`);
      err.code = "RESULT_INVALID";
      throw err;
    }
    out += s;
  }
  function walk(v, path, depth) {
    if (v === null) return emit("null");
    switch (typeof v) {
      case "boolean":
        return emit(v ? "true" : "false");
      case "string":
        return emit(JSONStringify(v));
      case "number":
        return NumberIsFinite(v) ? emit(JSONStringify(v)) : invalid(path, describeKind(v));
      case "object":
        break;
      default:
        return invalid(path, describeKind(v));
    }
    if (depth >= 512) invalid(path, "a value nested deeper than 512 levels");
    if (call(MapPrototypeHas, ancestors, v)) invalid(path, "a cycle");
    call(MapPrototypeSet, ancestors, v, true);
    if (ArrayIsArray(v)) {
      emit("[");
      const n = v.length;
      for (let i = 0; i < n; i++) {
        if (i > 0) emit(",");
        const item = v[i];
        if (item === undefined) emit("null");
        else walk(item, `${path}[${i}]`, depth + 1);
      }
      emit("]");
    } else {
      const proto = ObjectGetPrototypeOf(v);
      if (proto !== ObjectPrototype && proto !== null) invalid(path, describeKind(v));
      emit("{");
      let first = true;
      const keys = ReflectOwnKeys(v);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        if (typeof key === "symbol") continue;
        const item = v[key];
        if (item === undefined) continue;
        if (!first) emit(",");
        first = false;
        emit(JSONStringify(key));
        emit(":");
        walk(item, `${path}.${key}`, depth + 1);
      }
      emit("}");
    }
    call(MapPrototypeDelete, ancestors, v);
  }
  walk(value === undefined ? null : value, "result", 0);
  return out;
}

// Arguments to host calls: copied to a JSON string here, inside the isolate, before the host looks
// at them. Getters, proxies and toJSON run in the plugin's own isolate; the host only sees a string.
function copyArgs(args) {
  try {
    return JSONStringify(args);
  } catch (e) {
    const err = new TypeErrorCtor(`arguments to a Warden call must be JSON-compatible (${safeString(e && e.message)})`);
    err.code = "BAD_INPUT";
    throw err;
  }
}
