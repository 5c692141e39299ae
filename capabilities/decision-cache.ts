// Memoised pure decisions. A plugin's grants never change while its capabilities exist, so the
// answer of a pure matcher for a given value can be kept; lru-cache bounds how many are kept so a
// plugin asking about millions of distinct values cannot grow host memory.
import { LRUCache } from "lru-cache";

/** Default number of decisions kept per matcher. */
export const DECISION_CACHE_SIZE = 2048;

/** Wrap a pure `decide(key)` so repeated keys are answered from an LRU cache. */
export function cachedDecision<R>(decide: (key: string) => R, max = DECISION_CACHE_SIZE): (key: string) => R {
  // lru-cache stores only non-nullish values, so each answer is boxed. The cache is made on first
  // use: it preallocates `max` slots, and most matchers of most plugins are never asked.
  let cache: LRUCache<string, { readonly value: R }> | null = null;
  return (key) => {
    cache ??= new LRUCache<string, { readonly value: R }>({ max });
    const hit = cache.get(key);
    if (hit !== undefined) return hit.value;
    const value = decide(key);
    cache.set(key, { value });
    return value;
  };
}
