// The judge of a package's entries, tarball or directory alike: every entry is checked as it is
// read (its path, its type, the caps), and the whole list once more when it is complete (links,
// duplicates, where the plugin's root is). Nothing is written before the whole package has passed.
//
// The rules, written against an attacker who controls every byte of the package:
// - a path is relative, has no `..`, no backslash, no NUL; `.` and empty components are dropped;
// - only files, directories, symbolic links and hard links; devices, FIFOs and anything else refuse
//   the package;
// - a symbolic link is relative, and walking its target from the link's directory never leaves the
//   plugin's root, nor passes through another symbolic link of the package on the way (a link to
//   `.` would make a lexical check wrong); no entry passes through a symbolic link either;
// - a hard link names a regular file that came earlier in the package, inside the plugin's root; it
//   is installed as a copy of that file (no two installed paths share an inode: warden protects a
//   plugin's own files by name), so its target's bytes count again towards the total;
// - an entry appears once (a directory may repeat as a directory), and no two entries differ only
//   in case or Unicode normalisation (`Index.js`, `café` written two ways): on a case-insensitive
//   or normalising file system (macOS, Windows, a casefolded ext4 directory, a CIFS share) the
//   later one would replace, or be written through, the earlier one that was checked; the
//   symbolic-link rules compare paths the same way;
// - a path is at most 4096 characters and a component at most 255 bytes (what Linux can name);
// - the caps of DEFAULT_INSTALL_LIMITS: entries, one file's bytes, all bytes.
import { PackageTooLargeError, PackageUnsafeError, ManifestInvalidError, quote } from "../../errors/index.ts";
import type { InstallLimits } from "../limits.ts";
import { MANIFEST_FILE } from "../../manifests/index.ts";

/** What an entry is; "other" is everything a plugin never needs (devices, FIFOs, sockets, ...). */
export type EntryKind = "file" | "directory" | "symlink" | "hardlink" | "other";

/** One entry of a package as its reader saw it. */
export type PackageEntry = {
  /** The path as the package wrote it (judged here). */
  readonly path: string;
  readonly kind: EntryKind;
  /** The type's own name, for messages ("FIFO", "CharacterDevice", "socket"). */
  readonly typeName: string;
  /** Declared size in bytes (files). */
  readonly size: number;
  /** A link's target as written. */
  readonly linkpath?: string | undefined;
};

/** The outcome of a complete package: where the plugin's root is inside it. */
export type PackagePlan = {
  /** "" when plugin.json is at the top, otherwise the single top-level directory holding it. */
  readonly root: string;
  readonly entries: number;
  readonly bytes: number;
};

type Seen = { readonly entry: PackageEntry; readonly parts: readonly string[]; readonly index: number };

/** The longest entry path, characters, and path component, bytes (PATH_MAX and NAME_MAX on Linux). */
const MAX_PATH_CHARS = 4096;
const MAX_NAME_BYTES = 255;

/** A path as a case-insensitive, normalising file system compares it: NFC, case-folded. */
function folded(path: string): string {
  return path.normalize("NFC").toUpperCase().toLowerCase();
}

/** Split a package path into components, refusing anything that is not a plain relative path. */
export function entryParts(raw: string, what: string, label: string): string[] {
  const unsafe = (why: string): never => {
    throw new PackageUnsafeError(`cannot install ${label}: ${what} ${quote(raw)} ${why}; a package may only hold relative paths inside the plugin`, { value: raw });
  };
  if (raw.includes("\0")) unsafe("contains a NUL byte");
  if (raw.startsWith("/")) unsafe("is an absolute path");
  if (/^[A-Za-z]:/.test(raw)) unsafe("starts with a drive letter");
  if (raw.includes("\\")) unsafe("contains a backslash");
  if (raw.length > MAX_PATH_CHARS) unsafe(`is ${raw.length} characters long, more than ${MAX_PATH_CHARS}`);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) unsafe("has a '..' component");
  if (parts.some((p) => Buffer.byteLength(p) > MAX_NAME_BYTES)) unsafe(`has a component longer than ${MAX_NAME_BYTES} bytes`);
  return parts;
}

/** Checks a package's entries one by one as they are read, then as a whole. */
export class EntryChecker {
  readonly #label: string;
  readonly #limits: InstallLimits;
  readonly #seen = new Map<string, Seen>();
  // The first entry of each folded path (folded()): two spellings of one name on some file systems.
  readonly #byFolded = new Map<string, Seen>();
  readonly #order: Seen[] = [];
  #count = 0;
  #bytes = 0;

  /** `label` names the package in messages (the path the operator gave). */
  constructor(label: string, limits: InstallLimits) {
    this.#label = label;
    this.#limits = limits;
  }

  #unsafe(path: string, why: string, fix = "a package from someone else that does this is hostile: do not install it"): never {
    throw new PackageUnsafeError(`cannot install ${this.#label}: entry ${quote(path)} ${why}; ${fix}`, { value: path });
  }

  #tooLarge(why: string, field: keyof InstallLimits): never {
    throw new PackageTooLargeError(`cannot install ${this.#label}: ${why} (limits.${field}); ship data separately, or raise the limit for a trusted package`, { field: `limits.${field}` });
  }

  /** Bytes of file data counted so far (declared sizes, and what was read beyond them). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Judge one entry as it is read; throws PACKAGE_UNSAFE or PACKAGE_TOO_LARGE. */
  add(entry: PackageEntry): void {
    this.#count += 1;
    if (this.#count > this.#limits.files) this.#tooLarge(`it has more than ${this.#limits.files} entries`, "files");
    const parts = entryParts(entry.path, "entry", this.#label);
    if (entry.kind === "other") this.#unsafe(entry.path, `is a ${entry.typeName}, not a file, directory or link`);
    if (parts.length === 0) {
      // The archive's own top (`./`): harmless as a directory, meaningless as anything else.
      if (entry.kind !== "directory") this.#unsafe(entry.path, "names the package's top itself");
      return;
    }
    if (entry.kind === "file") this.countBytes(entry.path, entry.size);
    if ((entry.kind === "symlink" || entry.kind === "hardlink") && (entry.linkpath === undefined || entry.linkpath === "")) this.#unsafe(entry.path, "is a link without a target");
    const key = parts.join("/");
    const before = this.#seen.get(key);
    if (before !== undefined && !(before.entry.kind === "directory" && entry.kind === "directory")) {
      this.#unsafe(entry.path, `appears twice in the package (as a ${before.entry.kind}, then as a ${entry.kind}); a later entry must not replace an earlier one`);
    }
    const seen = { entry, parts, index: this.#order.length };
    const fold = folded(key);
    const alike = this.#byFolded.get(fold);
    if (alike !== undefined && alike.parts.join("/") !== key && !(alike.entry.kind === "directory" && entry.kind === "directory")) {
      this.#unsafe(
        entry.path,
        `differs from the earlier entry ${quote(alike.entry.path)} only in case or Unicode normalisation; on a case-insensitive or normalising file system one would replace the other`,
        "rename one of them and pack the plugin again",
      );
    }
    if (alike === undefined) this.#byFolded.set(fold, seen);
    if (before === undefined) this.#seen.set(key, seen);
    this.#order.push(seen);
  }

  /** Count `bytes` more of a file (declared or actually read); throws PACKAGE_TOO_LARGE past a cap. */
  countBytes(path: string, bytes: number): void {
    if (bytes > this.#limits.fileBytes) this.#tooLarge(`entry ${quote(path)} is ${bytes} bytes, more than the ${this.#limits.fileBytes} bytes one file may have`, "fileBytes");
    this.#bytes += bytes;
    if (this.#bytes > this.#limits.totalBytes) this.#tooLarge(`its files add up to more than ${this.#limits.totalBytes} bytes unpacked`, "totalBytes");
  }

  /**
   * Count what was actually read of a file so far (`actual`, of which `delta` is new) against its
   * declared size: one file may not exceed the cap, and bytes beyond the declared size (a pax
   * header may declare less than the data has) count towards the total too.
   */
  readBytes(path: string, declared: number, actual: number, delta: number): void {
    if (actual > this.#limits.fileBytes) this.#tooLarge(`entry ${quote(path)} has more than ${this.#limits.fileBytes} bytes of data, the most one file may have`, "fileBytes");
    const extra = Math.max(0, actual - declared) - Math.max(0, actual - delta - declared);
    if (extra > 0) {
      this.#bytes += extra;
      if (this.#bytes > this.#limits.totalBytes) this.#tooLarge(`its files add up to more than ${this.#limits.totalBytes} bytes unpacked`, "totalBytes");
    }
  }

  /** Judge the complete package: links, paths through links, and where plugin.json is. */
  finish(): PackagePlan {
    const root = this.#root();
    const rootParts = root === "" ? [] : [root];
    // Folded, as a case-insensitive file system would follow them.
    const symlinks = new Set(this.#order.filter((s) => s.entry.kind === "symlink").map((s) => folded(s.parts.join("/"))));
    for (const s of this.#order) {
      const { entry, parts } = s;
      if (root !== "" && parts[0] !== root) this.#unsafe(entry.path, `is outside the package's single top-level directory ${quote(root)}, which holds plugin.json`, "pack only the plugin's directory");
      for (let i = 1; i < parts.length; i++) {
        const prefix = parts.slice(0, i).join("/");
        if (symlinks.has(folded(prefix))) this.#unsafe(entry.path, `passes through the symbolic link ${quote(prefix)}`);
      }
      if (entry.kind === "symlink") this.#checkSymlink(entry, parts, rootParts, symlinks);
      if (entry.kind === "hardlink") this.#checkHardlink(s, rootParts);
    }
    return { root, entries: this.#count, bytes: this.#bytes };
  }

  #root(): string {
    if (this.#seen.has(MANIFEST_FILE)) return "";
    const tops = new Set(this.#order.map((s) => s.parts[0]));
    const [only] = tops;
    if (tops.size === 1 && only !== undefined && this.#seen.get(`${only}/${MANIFEST_FILE}`) !== undefined) return only;
    throw new ManifestInvalidError(
      `cannot install ${this.#label}: the package has no ${MANIFEST_FILE} at its top (nor in a single top-level directory); a plugin package is the plugin's directory, with ${MANIFEST_FILE} in it`,
      { problems: [`(package): no ${MANIFEST_FILE}`] },
    );
  }

  #checkSymlink(entry: PackageEntry, parts: readonly string[], rootParts: readonly string[], symlinks: ReadonlySet<string>): void {
    const target = entry.linkpath ?? "";
    const fix = "links must be relative and stay inside the plugin";
    if (target.includes("\0") || target.includes("\\")) this.#unsafe(entry.path, `is a symbolic link to ${quote(target)}, with a NUL or backslash`, fix);
    if (target.startsWith("/") || /^[A-Za-z]:/.test(target)) this.#unsafe(entry.path, `is a symbolic link to the absolute path ${quote(target)}`, fix);
    const steps = target.split("/").filter((p) => p !== "" && p !== ".");
    const at = parts.slice(0, -1);
    for (const [i, step] of steps.entries()) {
      if (step === "..") {
        if (at.length <= rootParts.length) this.#unsafe(entry.path, `is a symbolic link to ${quote(target)}, which leads out of the plugin`, fix);
        at.pop();
        continue;
      }
      at.push(step);
      // Only the last step may be a link of the package (it is judged on its own); an earlier one
      // would be followed from where it points, not from where its name is.
      if (i < steps.length - 1 && symlinks.has(folded(at.join("/"))))
        this.#unsafe(entry.path, `is a symbolic link to ${quote(target)}, which passes through the symbolic link ${quote(at.join("/"))}`, fix);
    }
  }

  #checkHardlink(s: Seen, rootParts: readonly string[]): void {
    const target = s.entry.linkpath ?? "";
    const parts = entryParts(target, `hard link ${quote(s.entry.path)} to`, this.#label);
    const to = this.#seen.get(parts.join("/"));
    const inside = rootParts.every((p, i) => parts[i] === p);
    if (!inside || to === undefined || to.index >= s.index || to.entry.kind !== "file") {
      this.#unsafe(s.entry.path, `is a hard link to ${quote(target)}, which is not a regular file earlier in the plugin`);
    }
    // Installed as a copy: a thousand links to one large file are a thousand files on disk.
    this.countBytes(s.entry.path, to.entry.size);
  }
}
