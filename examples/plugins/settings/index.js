// env: names matching WARDEN_DEMO_* are readable one by one; anything else is a PermissionDenied
// error (not undefined), so a missing grant is never mistaken for an unset variable.
export async function show() {
  const lang = (await Warden.env.get("WARDEN_DEMO_LANG")) ?? "en";
  let home;
  try {
    home = await Warden.env.get("HOME");
  } catch (e) {
    home = `${e.code} (as expected)`;
  }
  return { lang, home };
}
