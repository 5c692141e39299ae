// Rebuild errors that crossed from the host (descriptors {name, code, message}) as real Errors
// of this isolate, and describe errors thrown by the plugin as plain descriptors.
const CONTRACT_CODES = ["PERMISSION_DENIED", "MANIFEST_INVALID", "ENTRY_NOT_FOUND", "BAD_INPUT", "PLUGIN_ERROR", "TIMEOUT", "CPU_LIMIT", "MEMORY_LIMIT", "RESULT_INVALID", "DEPENDENCY_ERROR"];

function errorFromDescriptor(d) {
  const err = new ErrorCtor(StringCtor(d.message));
  ObjectDefineProperty(err, "name", { value: StringCtor(d.name), writable: true, configurable: true, enumerable: false });
  ObjectDefineProperty(err, "code", { value: StringCtor(d.code), writable: true, configurable: true, enumerable: true });
  return err;
}

function safeString(value) {
  try {
    if (typeof value === "symbol") return call(Symbol.prototype.toString, value);
    return StringCtor(value);
  } catch {
    return "[value that cannot be converted to a string]";
  }
}

function pluginStack(err) {
  let stack;
  try {
    stack = err !== null && typeof err === "object" ? err.stack : undefined;
  } catch {
    return undefined;
  }
  if (typeof stack !== "string") return undefined;
  const lines = call(StringPrototypeSplit, stack, "\n");
  const kept = [];
  for (let i = 0; i < lines.length && kept.length < 30; i++) {
    if (!call(StringPrototypeIncludes, lines[i], "warden:prelude")) call(ArrayPrototypePush, kept, lines[i]);
  }
  return call(ArrayPrototypeJoin, kept, "\n");
}

function describeError(err) {
  let name = "Error";
  let message;
  let code;
  try {
    if (err !== null && (typeof err === "object" || typeof err === "function")) {
      name = safeString(err.name);
      message = safeString(err.message);
      code = err.code;
    } else {
      message = safeString(err);
      name = "Uncaught";
    }
  } catch (e) {
    message = "an error whose properties cannot be read";
  }
  const contract = typeof code === "string" && call(ArrayPrototypeIncludes, CONTRACT_CODES, code);
  return {
    name,
    code: contract ? code : "PLUGIN_ERROR",
    message: contract ? message : name === "Uncaught" ? `uncaught ${message}` : `${name}: ${message}`,
    stack: pluginStack(err),
  };
}
