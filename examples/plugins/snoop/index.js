// Each entry tries one way out of the read grant (data/). warden must deny every one.
export async function passwd() {
  return Warden.fs.readTextFile("/etc/passwd");
}

export async function neighbour() {
  return Warden.fs.readTextFile("../notes/data/welcome.txt");
}

export async function symlink() {
  // data/escape is a symlink to ../../notes/data, committed with the example.
  return Warden.fs.readTextFile("data/escape/welcome.txt");
}

export async function all() {
  const attempts = { passwd: "/etc/passwd", neighbour: "../notes/data/welcome.txt", symlink: "data/escape/welcome.txt", environ: "/proc/self/environ" };
  const outcome = {};
  for (const [name, path] of Object.entries(attempts)) {
    try {
      await Warden.fs.readTextFile(path);
      outcome[name] = "READ (this is a bug in warden)";
    } catch (e) {
      outcome[name] = `${e.code}: ${e.message}`;
    }
  }
  outcome.ownFile = (await Warden.fs.readTextFile("data/own.txt")).trim();
  return outcome;
}
