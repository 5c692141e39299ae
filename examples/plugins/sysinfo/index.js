// exec: `uname` and `date` are resolved on the host's PATH when the plugin loads; the child gets
// only the environment passed here plus a minimal PATH.
export async function info() {
  const kernel = await Warden.exec("uname", ["-sr"]);
  const today = await Warden.exec("date", ["-u", "+%Y-%m-%d"], { env: { LC_ALL: "C" } });
  return { kernel: kernel.stdout.trim(), date: today.stdout.trim() };
}
