// Branded results of a permission check. Only capabilities/ can construct them, and the operations
// accept nothing else, so the value that was checked is the value that is used (Deno CheckedPath).

/** A path that passed the lexical and the real-path check of one access kind. */
export class CheckedPath {
  readonly #brand = true;
  /** The lexically normalised absolute path the plugin asked for. */
  readonly lexical: string;
  /** Its real path at check time; the operation must act on exactly this file. */
  readonly real: string;
  /** Whether the real path existed at check time. */
  readonly exists: boolean;
  /** The manifest rule that granted it, as written. */
  readonly rule: string;
  /** Where that rule is in plugin.json (permissions.read[0]). */
  readonly source: string;
  constructor(lexical: string, real: string, exists: boolean, rule: string, source: string) {
    this.lexical = lexical;
    this.real = real;
    this.exists = exists;
    this.rule = rule;
    this.source = source;
  }
  /** True for instances made by this module (a structural look-alike is not a CheckedPath). */
  static is(value: unknown): value is CheckedPath {
    return typeof value === "object" && value !== null && #brand in value;
  }
}
