export async function read(input) {
  const name = input?.name ?? "welcome.txt";
  const text = await Warden.fs.readTextFile(`data/${name}`);
  return { name, lines: text.split("\n").filter((l) => l.length > 0) };
}

export async function canRead(input) {
  return Warden.permissions.query({ name: "read", path: input?.path ?? "data/" });
}
