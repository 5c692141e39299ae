// Regular files with more than one name. A hard link is the same file (inode) under another name,
// and the path check judges names: a write grant over data/ covers data/notes.txt, and if that is
// a second name of plugin.json, a write to it rewrites the manifest, which no grant may reach. A
// plugin cannot make links, but a package, another program or a careless operator can. So no write
// goes to a regular file with another name, whatever the grants: the fs port refuses to hand one
// out for writing, and the fs capability denies it (audited), both judging the opened descriptor,
// the very file that would be written.
import type { FileInfo } from "./path-check.ts";

/** What a denial of such a write says to do: no grant allows it. */
export const HARD_LINK_FIX = "no write grant can allow it; to make the file writable, give it a name of its own (cp FILE FILE.new && mv FILE.new FILE) or remove its other names";

/** True when writing the file `info` describes (from its descriptor) would change another name's file too. */
export function hasOtherNames(info: Pick<FileInfo, "isFile" | "nlink">): boolean {
  return info.isFile && info.nlink > 1;
}

/** The reason of a denial of writing a file with `nlink` names. */
export function hardLinkReason(nlink: number): string {
  return `it has ${nlink} hard links: writing it would change another file too`;
}

/** Thrown by FsPort.openWrite when the file it opened has other names; the capability turns it into a denial. */
export class HardLinkedFileError extends Error {
  readonly nlink: number;
  constructor(nlink: number) {
    super(`refusing to open for writing: ${hardLinkReason(nlink)}`);
    this.name = "HardLinkedFileError";
    this.nlink = nlink;
  }
}
