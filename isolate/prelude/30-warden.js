// The Warden global. Every capability is one asynchronous host operation; the plugin's identity is
// not an argument: the host bound it when it built this isolate.
const pendingOps = new MapCtor();
let nextOpId = 1;

function hostOp(op, args) {
  const payload = copyArgs(args);
  return new PromiseCtor((resolve, reject) => {
    const id = nextOpId++;
    call(MapPrototypeSet, pendingOps, id, { resolve, reject });
    dispatch("op", `{"id":${id},"op":${JSONStringify(op)},"args":${payload}}`);
  });
}

function resolveOp(id, resultJson) {
  const pending = call(MapPrototypeGet, pendingOps, id);
  if (pending === undefined) return;
  call(MapPrototypeDelete, pendingOps, id);
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

const Warden = deepFreeze({
  fs: {
    readTextFile: function readTextFile(path) { return hostOp("fs.readTextFile", [path]); },
  },
  permissions: {
    query: function query(descriptor) { return hostOp("permissions.query", [descriptor]); },
  },
  plugin: JSONParse(pluginJson),
  config: JSONParse(configJson),
});
