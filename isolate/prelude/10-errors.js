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
  // The first line repeats the message, which may be huge: split only what can be kept.
  const lines = call(StringPrototypeSplit, call(StringPrototypeSlice, stack, 0, 64 * 1024), "\n");
  const kept = [];
  for (let i = 0; i < lines.length && kept.length < 30; i++) {
    if (!call(StringPrototypeIncludes, lines[i], "warden:prelude")) append(kept, cutText(lines[i], 1024));
  }
  return call(ArrayPrototypeJoin, kept, "\n");
}

// A thrown error's text is cut here, before it is copied (a 20 MB message would otherwise be
// copied several times over and come back as the wrong error); the host cuts it again.
function cutText(text, max) {
  return text.length > max ? `${call(StringPrototypeSlice, text, 0, max)}… [cut: the message was ${text.length} characters]` : text;
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
  name = cutText(name, 100);
  const max = preludeCaps.maxErrorChars;
  const length = message.length;
  message = call(StringPrototypeSlice, message, 0, max);
  const contract = typeof code === "string" && call(ArrayPrototypeIncludes, CONTRACT_CODES, code);
  let text = contract ? message : name === "Uncaught" ? `uncaught ${message}` : `${name}: ${message}`;
  if (length > max || text.length > max) text = `${call(StringPrototypeSlice, text, 0, max)}… [cut: the message was ${length} characters]`;
  return { name, code: contract ? code : "PLUGIN_ERROR", message: text, stack: pluginStack(err) };
}
