// Memoised pure decisions. A plugin's grants never change while its capabilities exist, so the
// answer of a pure matcher for a given value can be kept; lru-cache bounds how many are kept so a
// plugin asking about millions of distinct values cannot grow host memory. The keys are the
// plugin's own strings, so their length is bounded too: the capabilities refuse values longer than
// DEFAULTS.values allows before they get here, and this cache, in depth, keeps no key longer than
// DECISION_KEY_CHARS and no more than DECISION_CACHE_KEY_CHARS of keys in all (a value that is not
// kept is still answered, only decided again next time).
import { LRUCache } from "lru-cache";

/** Default number of decisions kept per matcher. */
export const DECISION_CACHE_SIZE = 2048;

/** Longest key kept, in characters: a URL's host and port or a resolved path fit (DEFAULTS.values.urlChars, pathChars); a longer one is decided each time. */
export const DECISION_KEY_CHARS = 8192;

/** Characters of keys one matcher's cache holds in all (2 MB of UTF-16): the least used are dropped past it. */
export const DECISION_CACHE_KEY_CHARS = 1024 * 1024;

/** Bounds of one decision cache (the defaults above unless a test says otherwise). */
export type DecisionCacheBounds = { readonly max?: number; readonly keyChars?: number; readonly totalKeyChars?: number };

/** Wrap a pure `decide(key)` so repeated keys are answered from an LRU cache. */
export function cachedDecision<R>(decide: (key: string) => R, bounds: DecisionCacheBounds = {}): (key: string) => R {
  const max = bounds.max ?? DECISION_CACHE_SIZE;
  const keyChars = bounds.keyChars ?? DECISION_KEY_CHARS;
  const totalKeyChars = bounds.totalKeyChars ?? DECISION_CACHE_KEY_CHARS;
  // lru-cache stores only non-nullish values, so each answer is boxed. The cache is made on first
  // use: it preallocates `max` slots, and most matchers of most plugins are never asked.
  let cache: LRUCache<string, { readonly value: R }> | null = null;
  return (key) => {
    if (key.length > keyChars) return decide(key);
    // Each entry's size is its key's length (plus one, so an empty key counts): maxSize bounds the sum.
    cache ??= new LRUCache<string, { readonly value: R }>({ max, maxSize: totalKeyChars, sizeCalculation: (_v, k) => k.length + 1 });
    const hit = cache.get(key);
    if (hit !== undefined) return hit.value;
    const value = decide(key);
    cache.set(key, { value });
    return value;
  };
}
