import { greeting } from "./lib/greeting.js";

export function greet(input) {
  const name = typeof input?.name === "string" ? input.name : "world";
  return { message: greeting(name), plugin: Warden.plugin.id };
}

export async function later(input) {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return { id: crypto.randomUUID(), url: new URL(input?.path ?? "/", "https://example.org").href };
}
