// Each entry is one way to flood a host. warden must contain each one (CPU_LIMIT, MEMORY_LIMIT,
// TIMEOUT, rate limits, bounded queues) without the host or any other plugin noticing.
export function spin() { for (;;) {} }
export function grow() { const keep = []; for (;;) keep.push(new Array(100000).fill(keep.length)); }
export function hugeAllocation() { Array(1e9).fill(0); }
export async function microtasks() { for (;;) await null; }
export function hang() { return new Promise(() => {}); }
export function timerStorm() {
  // Timers that keep re-arming and burn CPU in the background, after the call has returned.
  const burn = () => { const end = Date.now() + 20; while (Date.now() < end) {} setTimeout(burn, 0); };
  for (let i = 0; i < 2000; i++) { try { setTimeout(burn, 0); } catch { break; } }
  return "armed";
}
export function logStorm() { for (let i = 0; i < 50000; i++) console.log(`spam ${i} ${"x".repeat(100)}`); return "logged"; }
export async function denialStorm() {
  for (let i = 0; i < 5000; i++) { try { await Warden.fs.readTextFile("/etc/shadow"); } catch {} }
  return "denied 5000 times";
}
export async function messageStorm() {
  for (let i = 0; i < 5000; i++) await Warden.channels.publish("flood.noise", { i, pad: "x".repeat(1000) });
  return "published";
}
export function ok() { return "still here"; }
