// The last word on what was staged: no installed file shares its inode with another path. warden
// protects a plugin's own files (plugin.json, its modules) by name, and a hard link is the same
// file under another name, which a write grant might cover. Tarball hard links are unpacked as
// copies and directory installs copy every file, so this never refuses a package today; it stops
// a future reader or a change of node-tar from installing links unnoticed.
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { PackageUnsafeError, quote } from "../../errors/index.ts";

/** Throw PACKAGE_UNSAFE if a regular file under `root` (the staged plugin) has more than one link. */
export async function refuseSharedInodes(root: string, label: string): Promise<void> {
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(root, rel))) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const st = await lstat(join(root, path));
      if (st.isDirectory()) await walk(path);
      else if (st.isFile() && st.nlink > 1) {
        throw new PackageUnsafeError(
          `cannot install ${label}: entry ${quote(path)} was unpacked as a hard link (${st.nlink} names for one file), which would let a write to one name change another; this is a bug of warden's installer, please report it`,
          { value: path },
        );
      }
    }
  };
  await walk("");
}
