// The text of plugin.json, judged before anything reads its values. A reviewer reads the file, an
// editor shows it, and warden runs what JSON.parse and zod make of it: wherever those can differ,
// the manifest is refused rather than run one way and read another.
//  - Bytes that are not UTF-8: the decoder turns each into U+FFFD, so a grant would be used as a
//    string nobody wrote (and that names another file than the bytes do).
//  - A byte-order mark: JSON.parse refuses it with a message about an unexpected character.
//  - A duplicate key: JSON.parse keeps the last value, a reader sees the first
//    (`"read": ["data/"], ..., "read": true`), and the escaped spelling `"r\u0065ad"` is the same key.
//  - A `__proto__` key: JSON.parse makes it an own property, but zod drops it from records without
//    a word, so an entry's input schema, a dependency or a config property written there vanishes.
// One pass over the text, iterative (a file nested 100 000 deep does not overflow the stack).
import { escapeText, quote } from "../errors/index.ts";

/** What is wrong with a manifest's text: where (a field path such as `permissions.read`) and what. */
export type JsonTextProblem = { readonly field: string; readonly message: string };

const BOM = "\ufeff";

/**
 * Decode `raw` as UTF-8, refusing a byte sequence that is not UTF-8 and a leading byte-order mark;
 * returns the text, or the problem (naming the offset of the first bad byte).
 */
export function decodeManifestText(raw: Uint8Array): { ok: true; text: string } | { ok: false; problem: JsonTextProblem } {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    return { ok: false, problem: { field: "(file)", message: `plugin.json is not UTF-8 (byte ${firstBadByte(raw)}); save it as UTF-8` } };
  }
  if (text.startsWith(BOM)) return { ok: false, problem: { field: "(file)", message: "plugin.json starts with a byte-order mark; save it as UTF-8 without one" } };
  return { ok: true, text };
}

/** The offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstBadByte(raw: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  // Bisect on prefixes: the longest prefix that decodes ends where the bad sequence starts (a
  // prefix cut inside a valid sequence fails too, so step back to its start).
  let lo = 0;
  let hi = raw.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      decoder.decode(raw.subarray(0, mid));
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

// A container being scanned. Each names only its own segment and its parent (a path copied into
// every frame would make a file nested n deep cost n² to scan).
type Frame = {
  readonly parent: Frame | undefined;
  /** How the parent names this container: a key, or an index; "" for the top level. */
  readonly segment: string | number;
  readonly keys: Set<string> | null;
  key: string;
  index: number;
};

function render(frame: Frame | undefined, last: string): string {
  const segments: Array<string | number> = [last];
  for (let f = frame; f !== undefined && f.parent !== undefined; f = f.parent) segments.push(f.segment);
  let out = "";
  for (const p of segments.reverse()) out += typeof p === "number" ? `[${p}]` : out === "" ? escapeText(p) : `.${escapeText(p)}`;
  return out;
}

/**
 * The first duplicate or `__proto__` key in `text`, which JSON.parse has already accepted (so the
 * scan only needs to find strings and brackets), or null.
 */
export function keyProblem(text: string): JsonTextProblem | null {
  let top: Frame | undefined;
  // After `{` or `,` inside an object, the next string is a key.
  let expectKey = false;
  const open = (isObject: boolean): void => {
    const segment = top === undefined ? "" : top.keys === null ? top.index : top.key;
    top = { parent: top, segment, keys: isObject ? new Set() : null, key: "", index: 0 };
    expectKey = isObject;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (key === "__proto__") return { field: render(top, key), message: 'the key "__proto__" is refused (JSON.parse keeps it, the schema drops it without a word); rename it' };
        if (top.keys.has(key)) return { field: render(top, key), message: `duplicate key ${quote(key)} in the same object (JSON.parse keeps the last, a reader sees the first); keep one` };
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) open(true);
    else if (c === 0x5b /* [ */) open(false);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      top = top?.parent;
      expectKey = false;
    } else if (c === 0x2c /* , */ && top !== undefined) {
      if (top.keys !== null) expectKey = true;
      else top.index++;
    }
  }
  return null;
}
