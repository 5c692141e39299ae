// The Warden global. Every capability is one asynchronous host operation; the plugin's identity is
// not an argument: the host bound it when it built this isolate.
const pendingOps = new MapCtor();
let nextOpId = 1;
const preludeCaps = JSONParse(capsJson);

// With `signal` (an AbortSignal the plugin passed), the operation is cancellable: its abort
// rejects the call with the signal's reason and tells the host to stop it ("op.cancel").
function hostOp(op, args, signal) {
  let payload;
  try {
    payload = copyArgs(args);
  } catch (e) {
    return PromiseReject(e);
  }
  if (payload.length > preludeCaps.maxOpArgsChars) {
    const err = new RangeErrorCtor(`the arguments of a Warden call are ${payload.length} characters of JSON, more than ${preludeCaps.maxOpArgsChars}`);
    err.code = "BAD_INPUT";
    return PromiseReject(err);
  }
  if (signal && signalStateOf(signal).aborted) return PromiseReject(signalStateOf(signal).reason);
  const id = nextOpId++;
  // An operation that needs no I/O is answered inside this crossing; others are answered later
  // through resolveOp (never during this dispatch, so registering afterwards is safe).
  const answer = dispatch("op", `{"id":${id},"op":${JSONStringify(op)},"args":${payload}${signal ? ',"cancellable":true' : ""}}`);
  if (typeof answer === "string") {
    const result = JSONParse(answer);
    return result.ok ? PromiseResolve(result.value) : PromiseReject(errorFromDescriptor(result.error));
  }
  return new PromiseCtor((resolve, reject) => {
    const pending = { resolve, reject, forget: null };
    call(MapPrototypeSet, pendingOps, id, pending);
    if (signal) {
      pending.forget = onAbortSignal(signal, () => {
        if (!call(MapPrototypeDelete, pendingOps, id)) return;
        host("op.cancel", { id });
        reject(signalStateOf(signal).reason);
      });
    }
  });
}

function resolveOp(id, resultJson) {
  const pending = call(MapPrototypeGet, pendingOps, id);
  if (pending === undefined) return;
  call(MapPrototypeDelete, pendingOps, id);
  if (pending.forget !== null) pending.forget();
  const result = JSONParse(resultJson);
  if (result.ok) pending.resolve(result.value);
  else pending.reject(errorFromDescriptor(result.error));
}

function deepFreeze(value) {
  if (value !== null && typeof value === "object") {
    const keys = ObjectKeys(value);
    for (let i = 0; i < keys.length; i++) deepFreeze(value[keys[i]]);
    ObjectFreeze(value);
  }
  return value;
}

// Channel handlers live here, by subscription id; the host only knows the id and the pattern.
let currentConfig = deepFreeze(JSONParse(configJson));

const channelHandlers = new MapCtor();
let nextSubscriptionId = 1;

function subscribe(topic, handler) {
  if (typeof handler !== "function") return PromiseReject(new TypeErrorCtor("Warden.channels.subscribe(topic, handler): the handler must be a function"));
  const id = nextSubscriptionId++;
  call(MapPrototypeSet, channelHandlers, id, handler);
  const pattern = StringCtor(topic);
  return then(
    hostOp("channels.subscribe", [pattern, id]),
    () =>
      ObjectFreeze({
        topic: pattern,
        unsubscribe: function unsubscribe() {
          if (!call(MapPrototypeDelete, channelHandlers, id)) return PromiseResolve(undefined);
          return then(hostOp("channels.unsubscribe", [id]), () => undefined);
        },
      }),
    (e) => {
      call(MapPrototypeDelete, channelHandlers, id);
      throw e;
    },
  );
}

const Warden = deepFreeze({
  fs: {
    readTextFile: function readTextFile(path) {
      return hostOp("fs.readTextFile", [path]);
    },
    writeTextFile: function writeTextFile(path, data, options) {
      return then(hostOp("fs.writeTextFile", [path, data, options]), () => undefined);
    },
    readDir: function readDir(path) {
      return hostOp("fs.readDir", [path]);
    },
    stat: function stat(path) {
      return hostOp("fs.stat", [path]);
    },
    mkdir: function mkdir(path, options) {
      return then(hostOp("fs.mkdir", [path, options]), () => undefined);
    },
    remove: function remove(path, options) {
      return then(hostOp("fs.remove", [path, options]), () => undefined);
    },
  },
  exec: function exec(command, args, options) {
    return hostOp("exec", [command, args, options]);
  },
  env: {
    get: function get(name) {
      return then(hostOp("env.get", [name]), (v) => (v === null ? undefined : v));
    },
  },
  channels: {
    publish: function publish(topic, data) {
      return hostOp("channels.publish", [topic, data]);
    },
    subscribe,
  },
  permissions: {
    query: function query(descriptor) {
      return hostOp("permissions.query", [descriptor]);
    },
  },
  plugins: {
    call: function call(id, entry, input) {
      return hostOp("plugins.call", [id, entry, input]);
    },
  },
  plugin: JSONParse(pluginJson),
  get config() {
    return currentConfig;
  },
});

// The host swaps the config (updateConfig) before it calls onConfigChange(next, previous).
function setConfig(json) {
  currentConfig = deepFreeze(JSONParse(json));
}
