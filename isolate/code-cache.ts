// V8 code caches for what every isolate compiles: the prelude (the same for every plugin) and the
// plugins' modules (keyed by the sha256 of their text, so an edited file is never served stale).
// Bounded by lru-cache: a host that loads many plugin versions keeps only the recent ones.
import { createHash } from "node:crypto";
import ivm from "./ivm.ts";
import { LRUCache } from "lru-cache";

const cache = new LRUCache<string, ivm.ExternalCopy<ArrayBuffer>>({ max: 512, maxSize: 64 * 1024 * 1024, sizeCalculation: (v) => Math.max(1, v.copy().byteLength) });

function keyOf(kind: string, filename: string, code: string): string {
  return `${kind}\0${filename}\0${createHash("sha256").update(code).digest("hex")}`;
}

// Producing a cache costs time too: it is produced the second time a text is compiled (the
// prelude in every sandbox, a module after a rebuild or a reload), not for code seen once.
const seen = new LRUCache<string, true>({ max: 4096 });

/** Compile options for `code`: the cached data if there is any, else (if seen before) a request to produce it. */
export function cacheOptions(kind: "script" | "module", filename: string, code: string): { key: string; options: { cachedData?: ivm.ExternalCopy<ArrayBuffer>; produceCachedData?: boolean } } {
  const key = keyOf(kind, filename, code);
  const hit = cache.get(key);
  if (hit !== undefined) return { key, options: { cachedData: hit } };
  if (seen.has(key)) return { key, options: { produceCachedData: true } };
  seen.set(key, true);
  return { key, options: {} };
}

/** Keep what a compile produced (or drop an entry V8 rejected). */
export function rememberCache(key: string, result: { cachedData?: ivm.ExternalCopy<ArrayBuffer>; cachedDataRejected?: boolean }): void {
  if (result.cachedDataRejected) cache.delete(key);
  else if (result.cachedData !== undefined && !cache.has(key)) cache.set(key, result.cachedData);
}
