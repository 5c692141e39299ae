// fs write: everything happens under data/, the only path this plugin may write.
export async function add(input) {
  const day = input?.day ?? "today";
  await Warden.fs.mkdir("data/entries", { recursive: true });
  await Warden.fs.writeTextFile(`data/entries/${day}.txt`, `${input?.text ?? ""}\n`, { append: true });
  return list();
}

export async function list() {
  const entries = await Warden.fs.readDir("data/entries").catch((e) => (e.code === "NotFound" ? [] : Promise.reject(e)));
  const files = [];
  for (const e of entries.filter((x) => x.isFile)) {
    const st = await Warden.fs.stat(`data/entries/${e.name}`);
    files.push({ name: e.name, bytes: st.size });
  }
  return files;
}

export async function clear() {
  await Warden.fs.remove("data/entries", { recursive: true }).catch((e) => (e.code === "NotFound" ? null : Promise.reject(e)));
  return list();
}
