// fetch: the manifest grants the loopback address 127.0.0.1 explicitly (loopback is never
// reachable through a name or `true`). Every other host is denied.
export async function forecast(input) {
  const url = new URL("/forecast", Warden.config.service);
  url.searchParams.set("city", input?.city ?? "Oslo");
  const res = await fetch(url, { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`weather service answered ${res.status}`);
  return res.json();
}
